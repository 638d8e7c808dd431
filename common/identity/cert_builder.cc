#include "common/identity/cert_builder.h"

#include <openssl/rand.h>

#include <array>
#include <initializer_list>

#include "absl/strings/str_cat.h"
#include "common/identity/keys.h"
#include "common/identity/openssl_error.h"
#include "common/identity/x509_util.h"
#include "common/util/status_macros.h"

namespace weft::common::identity {
namespace {

constexpr int kSerialBytes = 16;
// X.520 upper bounds; longer values are left out of the subject rather than failing.
constexpr size_t kMaxNameEntryLength = 64;

absl::Status addExtension(X509* cert, int nid, void* value, bool critical) {
  if (X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_DEFAULT) != 1) {
    return openSslError(absl::StrCat("adding the ", OBJ_nid2sn(nid), " extension"));
  }
  return absl::OkStatus();
}

absl::Status setRandomSerial(X509* cert) {
  std::array<unsigned char, kSerialBytes> bytes;
  if (RAND_bytes(bytes.data(), bytes.size()) != 1) {
    return openSslError("drawing a random serial number");
  }
  BignumPtr serial(BN_bin2bn(bytes.data(), bytes.size(), nullptr));
  if (serial == nullptr || BN_is_zero(serial.get()) ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr) {
    return openSslError("setting the serial number");
  }
  return absl::OkStatus();
}

absl::Status setSubject(X509* cert, const CertSpec& spec) {
  X509_NAME* name = X509_get_subject_name(cert);
  for (const auto& [field, value] :
       {std::pair{"O", &spec.organization}, std::pair{"CN", &spec.common_name}}) {
    if (value->empty() || value->size() > kMaxNameEntryLength) {
      continue;
    }
    if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value->c_str()), -1, -1,
                                   0) != 1) {
      return openSslError("setting the subject name");
    }
  }
  return absl::OkStatus();
}

absl::Status addBasicConstraints(X509* cert, const CertSpec& spec) {
  BasicConstraintsPtr constraints(BASIC_CONSTRAINTS_new());
  if (constraints == nullptr) {
    return openSslError("allocating basicConstraints");
  }
  constraints->ca = spec.ca ? 0xff : 0;
  if (spec.ca && spec.path_length >= 0) {
    constraints->pathlen = ASN1_INTEGER_new();
    if (constraints->pathlen == nullptr ||
        ASN1_INTEGER_set(constraints->pathlen, spec.path_length) != 1) {
      return openSslError("setting the path length");
    }
  }
  return addExtension(cert, NID_basic_constraints, constraints.get(), true);
}

absl::Status addKeyUsage(X509* cert, std::initializer_list<int> bits) {
  Asn1BitStringPtr usage(ASN1_BIT_STRING_new());
  for (int bit : bits) {
    if (usage == nullptr || ASN1_BIT_STRING_set_bit(usage.get(), bit, 1) != 1) {
      return openSslError("building keyUsage");
    }
  }
  return addExtension(cert, NID_key_usage, usage.get(), true);
}

absl::Status addTlsExtendedKeyUsage(X509* cert) {
  ExtendedKeyUsagePtr usage(sk_ASN1_OBJECT_new_null());
  for (int nid : {NID_server_auth, NID_client_auth}) {
    if (usage == nullptr || sk_ASN1_OBJECT_push(usage.get(), OBJ_nid2obj(nid)) == 0) {
      return openSslError("building extKeyUsage");
    }
  }
  return addExtension(cert, NID_ext_key_usage, usage.get(), false);
}

absl::Status addSubjectAltName(X509* cert, const CertSpec& spec, bool empty_subject) {
  if (spec.uri_san.empty() && spec.dns_sans.empty() && spec.ip_sans.empty()) {
    return absl::OkStatus();
  }
  GeneralNamesPtr names(GENERAL_NAMES_new());
  if (!spec.uri_san.empty()) {
    ASSIGN_OR_RETURN(names, uriSubjectAltName(spec.uri_san));
  }
  for (const std::string& dns_name : spec.dns_sans) {
    RETURN_IF_ERROR(addDnsName(names.get(), dns_name));
  }
  for (const std::string& ip : spec.ip_sans) {
    RETURN_IF_ERROR(addIpAddress(names.get(), ip));
  }
  // RFC 5280 4.2.1.6: with an empty subject the SAN must be critical.
  return addExtension(cert, NID_subject_alt_name, names.get(), empty_subject);
}

// The SHA-1 of the public key (RFC 5280 4.2.1.2 method 1), or the identifier the
// certificate states, which is what an authorityKeyIdentifier must repeat.
absl::StatusOr<Asn1OctetStringPtr> keyIdentifier(X509* cert) {
  if (const ASN1_OCTET_STRING* stated = X509_get0_subject_key_id(cert)) {
    return Asn1OctetStringPtr(ASN1_OCTET_STRING_dup(stated));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  Asn1OctetStringPtr id(ASN1_OCTET_STRING_new());
  if (id == nullptr || X509_pubkey_digest(cert, EVP_sha1(), digest, &length) != 1 ||
      ASN1_OCTET_STRING_set(id.get(), digest, static_cast<int>(length)) != 1) {
    return openSslError("computing a key identifier");
  }
  return id;
}

// Key identifiers let verifiers pick the right issuer when two CAs share a name (e.g. across
// a root rotation).
absl::Status addKeyIdentifiers(X509* cert, X509* issuer) {
  ASSIGN_OR_RETURN(Asn1OctetStringPtr subject_id, keyIdentifier(cert));
  RETURN_IF_ERROR(addExtension(cert, NID_subject_key_identifier, subject_id.get(), false));
  AuthorityKeyIdPtr authority(AUTHORITY_KEYID_new());
  if (authority == nullptr) {
    return openSslError("allocating authorityKeyIdentifier");
  }
  if (issuer == nullptr) {
    authority->keyid = subject_id.release();
  } else {
    ASSIGN_OR_RETURN(Asn1OctetStringPtr issuer_id, keyIdentifier(issuer));
    authority->keyid = issuer_id.release();
  }
  return addExtension(cert, NID_authority_key_identifier, authority.get(), false);
}

absl::Status addExtensions(X509* cert, const CertSpec& spec, X509* issuer) {
  RETURN_IF_ERROR(addBasicConstraints(cert, spec));
  if (spec.ca) {
    RETURN_IF_ERROR(addKeyUsage(cert, {5 /*keyCertSign*/, 6 /*cRLSign*/}));
  } else {
    RETURN_IF_ERROR(addKeyUsage(cert, {0 /*digitalSignature*/}));
    RETURN_IF_ERROR(addTlsExtendedKeyUsage(cert));
  }
  const bool empty_subject = spec.common_name.empty() && spec.organization.empty();
  RETURN_IF_ERROR(addSubjectAltName(cert, spec, empty_subject));
  return addKeyIdentifiers(cert, issuer);
}

}  // namespace

namespace {

// Appends a name of `type` holding `value` (taken, also on failure) to `names`.
absl::Status pushName(GENERAL_NAMES* names, int type, ASN1_STRING* value) {
  GENERAL_NAME* name = GENERAL_NAME_new();
  if (names == nullptr || name == nullptr || value == nullptr) {
    GENERAL_NAME_free(name);
    ASN1_STRING_free(value);
    return openSslError("building a subjectAltName");
  }
  GENERAL_NAME_set0_value(name, type, value);
  if (sk_GENERAL_NAME_push(names, name) == 0) {
    GENERAL_NAME_free(name);
    return openSslError("building a subjectAltName");
  }
  return absl::OkStatus();
}

// Appends a name of `type` (GEN_URI, GEN_DNS: both IA5Strings) to `names`.
absl::Status pushTextName(GENERAL_NAMES* names, int type, const std::string& text) {
  ASN1_IA5STRING* value = ASN1_IA5STRING_new();
  if (value != nullptr && ASN1_STRING_set(value, text.data(), static_cast<int>(text.size())) != 1) {
    ASN1_IA5STRING_free(value);
    value = nullptr;
  }
  return pushName(names, type, value);
}

}  // namespace

absl::StatusOr<GeneralNamesPtr> uriSubjectAltName(const std::string& uri) {
  GeneralNamesPtr names(GENERAL_NAMES_new());
  RETURN_IF_ERROR(pushTextName(names.get(), GEN_URI, uri));
  return names;
}

absl::Status addDnsName(GENERAL_NAMES* names, const std::string& dns_name) {
  return pushTextName(names, GEN_DNS, dns_name);
}

absl::Status addIpAddress(GENERAL_NAMES* names, const std::string& ip) {
  // The octets of the address (4 or 16), as the SAN carries them.
  ASN1_OCTET_STRING* value = a2i_IPADDRESS(ip.c_str());
  if (value == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("\"", ip, "\" is not an IP address"));
  }
  return pushName(names, GEN_IPADD, value);
}

absl::StatusOr<X509Ptr> buildCertificate(const CertSpec& spec, X509* issuer,
                                         EVP_PKEY* signing_key) {
  ASSIGN_OR_RETURN(const EVP_MD* digest, signingDigest(signing_key));
  X509Ptr cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_set_pubkey(cert.get(), spec.public_key) != 1) {
    return openSslError("starting a certificate");
  }
  RETURN_IF_ERROR(setRandomSerial(cert.get()));
  RETURN_IF_ERROR(setSubject(cert.get(), spec));
  X509_NAME* issuer_name = X509_get_subject_name(issuer != nullptr ? issuer : cert.get());
  if (X509_set_issuer_name(cert.get(), issuer_name) != 1) {
    return openSslError("setting the issuer name");
  }
  RETURN_IF_ERROR(setValidity(cert.get(), spec.not_before, spec.not_after));
  RETURN_IF_ERROR(addExtensions(cert.get(), spec, issuer));
  if (X509_sign(cert.get(), signing_key, digest) <= 0) {
    return openSslError("signing a certificate");
  }
  return reparse(cert.get());
}

}  // namespace weft::common::identity
