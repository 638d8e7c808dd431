#pragma once

// Owning pointers for the OpenSSL objects the identity code handles, so every early return
// frees what it allocated.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memory>
#include <vector>

namespace weft::common::identity {

template <auto FreeFn>
struct OpenSslDeleter {
  template <typename T>
  void operator()(T* p) const {
    FreeFn(p);
  }
};

template <typename T, auto FreeFn>
using OpenSslPtr = std::unique_ptr<T, OpenSslDeleter<FreeFn>>;

using EvpPkeyPtr = OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;
using EvpPkeyCtxPtr = OpenSslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using X509Ptr = OpenSslPtr<X509, X509_free>;
using X509ReqPtr = OpenSslPtr<X509_REQ, X509_REQ_free>;
using X509StorePtr = OpenSslPtr<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = OpenSslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;
using X509NamePtr = OpenSslPtr<X509_NAME, X509_NAME_free>;
using BioPtr = OpenSslPtr<BIO, BIO_free_all>;
using BignumPtr = OpenSslPtr<BIGNUM, BN_free>;
using Asn1OctetStringPtr = OpenSslPtr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using Asn1BitStringPtr = OpenSslPtr<ASN1_BIT_STRING, ASN1_BIT_STRING_free>;
using GeneralNamesPtr = OpenSslPtr<GENERAL_NAMES, GENERAL_NAMES_free>;
using BasicConstraintsPtr = OpenSslPtr<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>;
using ExtendedKeyUsagePtr = OpenSslPtr<EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free>;
using AuthorityKeyIdPtr = OpenSslPtr<AUTHORITY_KEYID, AUTHORITY_KEYID_free>;

// STACK_OF(...) types free their elements too.
inline void freeX509Stack(STACK_OF(X509) * s) {
  sk_X509_pop_free(s, X509_free);
}
inline void freeExtensionStack(STACK_OF(X509_EXTENSION) * s) {
  sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}
using X509StackPtr = OpenSslPtr<STACK_OF(X509), freeX509Stack>;
using X509ExtensionStackPtr = OpenSslPtr<STACK_OF(X509_EXTENSION), freeExtensionStack>;

// A certificate chain in presentation order (leaf or signing certificate first).
using CertChain = std::vector<X509Ptr>;

// A second owning reference to the same object (OpenSSL reference counting).
inline X509Ptr shareCert(X509* cert) {
  X509_up_ref(cert);
  return X509Ptr(cert);
}
inline EvpPkeyPtr shareKey(EVP_PKEY* key) {
  EVP_PKEY_up_ref(key);
  return EvpPkeyPtr(key);
}
inline CertChain shareChain(const CertChain& chain) {
  CertChain copy;
  for (const X509Ptr& cert : chain) {
    copy.push_back(shareCert(cert.get()));
  }
  return copy;
}

// A new STACK_OF(X509) holding references to `certs`, for OpenSSL calls that want one.
// Null only when OpenSSL is out of memory.
inline X509StackPtr toStack(const CertChain& certs) {
  X509StackPtr stack(sk_X509_new_null());
  for (const X509Ptr& cert : certs) {
    if (stack == nullptr || sk_X509_push(stack.get(), cert.get()) == 0) {
      return nullptr;
    }
    X509_up_ref(cert.get());
  }
  return stack;
}

}  // namespace weft::common::identity
