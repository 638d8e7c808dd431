/* tunables.h: capture settings, set by the agent in .rodata before load (the verifier then
 * prunes the disabled families). */
#pragma once

#include <linux/types.h>

const volatile __u8 capture_ipv4_enabled = 0;
const volatile __u32 capture_ipv4 = 0; /* network byte order */
const volatile __u8 capture_ipv6_enabled = 0;
const volatile __u32 capture_ipv6[4] = {};  /* network byte order */
const volatile __u16 outbound_port = 15001; /* host byte order */
