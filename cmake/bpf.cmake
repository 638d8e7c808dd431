# weft_bpf_skeleton(NAME SOURCE): compiles SOURCE with clang -target bpf (BTF included) and
# generates <NAME>.skel.h with bpftool. Adds a target weft_bpf_<NAME> and appends the
# skeleton directory to WEFT_BPF_SKEL_DIR.
find_program(CLANG_BPF NAMES clang-14 clang REQUIRED)
find_program(BPFTOOL bpftool PATHS /usr/sbin /sbin REQUIRED)

set(WEFT_BPF_SKEL_DIR ${CMAKE_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${WEFT_BPF_SKEL_DIR})

function(weft_bpf_skeleton name source)
  set(obj ${WEFT_BPF_SKEL_DIR}/${name}.bpf.o)
  set(skel ${WEFT_BPF_SKEL_DIR}/${name}.skel.h)
  # clang writes the headers it read into a depfile, so editing any bpf/ header rebuilds.
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${CLANG_BPF} -target bpf -O2 -g -Wall -Werror
            -D__TARGET_ARCH_x86
            -I${CMAKE_SOURCE_DIR}/bpf/include -I${CMAKE_SOURCE_DIR}/bpf
            -I/usr/include/x86_64-linux-gnu
            -MD -MF ${obj}.d
            -c ${CMAKE_CURRENT_SOURCE_DIR}/${source} -o ${obj}
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${source}
    DEPFILE ${obj}.d
    COMMENT "BPF ${source}"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name weft_${name} > ${skel}
    DEPENDS ${obj}
    COMMENT "skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(weft_bpf_${name} DEPENDS ${skel})
endfunction()
