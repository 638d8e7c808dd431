#include "common/identity/pem.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/identity/openssl_error.h"
#include "common/util/status_macros.h"

namespace weft::common::identity {
namespace {

struct PemBlock {
  std::string name;  // "CERTIFICATE", "PRIVATE KEY", ...
  std::string der;
};

absl::Status invalid(absl::string_view what, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", reason));
}

bool isNoMoreBlocks(unsigned long err) {
  return ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
}

// Reads the next block; a block with an empty name means the input has no more.
absl::StatusOr<PemBlock> readBlock(BIO* bio, absl::string_view what, size_t index) {
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long length = 0;
  if (PEM_read_bio(bio, &name, &header, &data, &length) != 1) {
    if (isNoMoreBlocks(ERR_peek_last_error())) {
      clearOpenSslErrors();
      return PemBlock{};
    }
    return openSslError(absl::StrCat(what, ": PEM block ", index + 1, " is malformed"),
                        absl::StatusCode::kInvalidArgument);
  }
  PemBlock block{name, std::string(reinterpret_cast<char*>(data), length)};
  const bool encrypted = header != nullptr && header[0] != '\0';
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_clear_free(data, length);  // it may be a private key
  if (encrypted) {
    return invalid(what, "encrypted PEM blocks are not supported");
  }
  return block;
}

// All blocks in `pem`; an error when there is none or one is malformed.
absl::StatusOr<std::vector<PemBlock>> readBlocks(absl::string_view pem, absl::string_view what) {
  if (pem.size() > kMaxPemBytes) {
    return invalid(what, absl::StrCat("larger than ", kMaxPemBytes, " bytes"));
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) {
    return openSslError("allocating a memory BIO");
  }
  std::vector<PemBlock> blocks;
  while (true) {
    ASSIGN_OR_RETURN(PemBlock block, readBlock(bio.get(), what, blocks.size()));
    if (block.name.empty()) {
      break;
    }
    blocks.push_back(std::move(block));
  }
  if (blocks.empty()) {
    return invalid(what, "no PEM block found (expected \"-----BEGIN ...-----\")");
  }
  return blocks;
}

// Runs a d2i_* function over the whole of `der`; trailing bytes are an error because two
// parsers could disagree about them.
template <typename Ptr, typename D2i>
absl::StatusOr<Ptr> decodeDer(const std::string& der, D2i d2i, absl::string_view what) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  Ptr object(d2i(nullptr, &p, static_cast<long>(der.size())));
  if (object == nullptr) {
    return openSslError(absl::StrCat(what, ": not valid DER"), absl::StatusCode::kInvalidArgument);
  }
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return invalid(what, "trailing bytes after the DER structure");
  }
  return object;
}

std::string bioContents(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return std::string(data, length);
}

// Writes with `write(bio, object)` into a memory BIO and returns the text.
template <typename Write>
absl::StatusOr<std::string> writePem(Write write, absl::string_view what) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || write(bio.get()) != 1) {
    return openSslError(absl::StrCat("PEM-encoding ", what));
  }
  return bioContents(bio.get());
}

absl::Status expectName(const PemBlock& block, absl::string_view expected, size_t index,
                        absl::string_view what) {
  if (block.name == expected) {
    return absl::OkStatus();
  }
  return invalid(what, absl::StrCat("PEM block ", index + 1, " is \"", block.name,
                                    "\", expected \"", expected, "\""));
}

EVP_PKEY* decodeKeyBlock(const PemBlock& block) {
  const auto* p = reinterpret_cast<const unsigned char*>(block.der.data());
  const long length = static_cast<long>(block.der.size());
  if (block.name == "EC PRIVATE KEY") {
    return d2i_PrivateKey(EVP_PKEY_EC, nullptr, &p, length);
  }
  if (block.name == "RSA PRIVATE KEY") {
    return d2i_PrivateKey(EVP_PKEY_RSA, nullptr, &p, length);
  }
  return d2i_AutoPrivateKey(nullptr, &p, length);  // PKCS#8
}

bool isKeyBlockName(absl::string_view name) {
  return name == "PRIVATE KEY" || name == "EC PRIVATE KEY" || name == "RSA PRIVATE KEY";
}

}  // namespace

absl::StatusOr<std::string> privateKeyToPem(EVP_PKEY* key) {
  return writePem(
      [key](BIO* bio) {
        return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
      },
      "a private key");
}

absl::StatusOr<EvpPkeyPtr> privateKeyFromPem(absl::string_view pem) {
  constexpr absl::string_view kWhat = "private key PEM";
  ASSIGN_OR_RETURN(std::vector<PemBlock> blocks, readBlocks(pem, kWhat));
  const PemBlock* key_block = nullptr;
  for (const PemBlock& block : blocks) {
    if (block.name == "EC PARAMETERS") {
      continue;  // `openssl ecparam -genkey` writes the curve before the key
    }
    if (block.name == "ENCRYPTED PRIVATE KEY") {
      return invalid(kWhat, "encrypted private keys are not supported");
    }
    if (!isKeyBlockName(block.name)) {
      return invalid(kWhat, absl::StrCat("unexpected \"", block.name, "\" block"));
    }
    if (key_block != nullptr) {
      return invalid(kWhat, "more than one private key");
    }
    key_block = &block;
  }
  if (key_block == nullptr) {
    return invalid(kWhat, "no private key block");
  }
  EvpPkeyPtr key(decodeKeyBlock(*key_block));
  if (key == nullptr) {
    return openSslError(absl::StrCat(kWhat, ": the \"", key_block->name, "\" block is not a key"),
                        absl::StatusCode::kInvalidArgument);
  }
  return key;
}

absl::StatusOr<std::string> certificateToPem(X509* cert) {
  return writePem([cert](BIO* bio) { return PEM_write_bio_X509(bio, cert); }, "a certificate");
}

absl::StatusOr<std::string> chainToPem(const CertChain& chain) {
  std::string pem;
  for (const X509Ptr& cert : chain) {
    ASSIGN_OR_RETURN(std::string one, certificateToPem(cert.get()));
    pem += one;
  }
  return pem;
}

absl::StatusOr<CertChain> chainFromPem(absl::string_view pem) {
  constexpr absl::string_view kWhat = "certificate PEM";
  ASSIGN_OR_RETURN(std::vector<PemBlock> blocks, readBlocks(pem, kWhat));
  CertChain chain;
  for (size_t i = 0; i < blocks.size(); ++i) {
    RETURN_IF_ERROR(expectName(blocks[i], "CERTIFICATE", i, kWhat));
    const std::string what = absl::StrCat(kWhat, ": certificate ", i + 1);
    ASSIGN_OR_RETURN(X509Ptr cert, decodeDer<X509Ptr>(blocks[i].der, d2i_X509, what));
    chain.push_back(std::move(cert));
  }
  return chain;
}

absl::StatusOr<X509Ptr> certificateFromPem(absl::string_view pem) {
  ASSIGN_OR_RETURN(CertChain chain, chainFromPem(pem));
  if (chain.size() != 1) {
    return invalid("certificate PEM",
                   absl::StrCat("expected one certificate, found ", chain.size()));
  }
  return std::move(chain.front());
}

absl::StatusOr<std::string> requestToPem(X509_REQ* request) {
  return writePem([request](BIO* bio) { return PEM_write_bio_X509_REQ(bio, request); },
                  "a certificate request");
}

absl::StatusOr<X509ReqPtr> requestFromPem(absl::string_view pem) {
  constexpr absl::string_view kWhat = "CSR PEM";
  ASSIGN_OR_RETURN(std::vector<PemBlock> blocks, readBlocks(pem, kWhat));
  if (blocks.size() != 1) {
    return invalid(kWhat, absl::StrCat("expected one block, found ", blocks.size()));
  }
  RETURN_IF_ERROR(expectName(blocks[0], "CERTIFICATE REQUEST", 0, kWhat));
  return decodeDer<X509ReqPtr>(blocks[0].der, d2i_X509_REQ, kWhat);
}

}  // namespace weft::common::identity
