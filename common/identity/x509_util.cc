#include "common/identity/x509_util.h"

#include <openssl/asn1.h>

#include <ctime>

#include "absl/strings/str_cat.h"
#include "common/identity/openssl_error.h"

namespace weft::common::identity {
namespace {

SubjectAltNames summarize(const GENERAL_NAMES* names) {
  SubjectAltNames sans;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) {
      ++sans.others;
      continue;
    }
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    sans.uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                           ASN1_STRING_length(uri));
  }
  return sans;
}

// `names` came from X509(V3)_get(_ext)_d2i with critical flag `crit`: -1 absent, -2 repeated.
absl::StatusOr<SubjectAltNames> takeSans(GENERAL_NAMES* names, int crit, absl::string_view what) {
  GeneralNamesPtr owned(names);
  if (owned == nullptr && crit == -2) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " has more than one subjectAltName extension"));
  }
  if (owned == nullptr && crit != -1) {
    return openSslError(absl::StrCat(what, " has a malformed subjectAltName extension"),
                        absl::StatusCode::kInvalidArgument);
  }
  clearOpenSslErrors();
  return owned == nullptr ? SubjectAltNames{} : summarize(owned.get());
}

absl::Time asn1ToTime(const ASN1_TIME* t) {
  std::tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return absl::InfinitePast();  // unreadable: never valid
  }
  return absl::FromCivil(absl::CivilSecond(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                           tm.tm_min, tm.tm_sec),
                         absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<SubjectAltNames> certificateSans(X509* cert) {
  int crit = 0;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, nullptr));
  return takeSans(names, crit, "the certificate");
}

absl::StatusOr<SubjectAltNames> requestSans(const STACK_OF(X509_EXTENSION) * extensions) {
  int crit = -1;
  GENERAL_NAMES* names = nullptr;
  if (extensions != nullptr) {
    names = static_cast<GENERAL_NAMES*>(
        X509V3_get_d2i(extensions, NID_subject_alt_name, &crit, nullptr));
  }
  return takeSans(names, crit, "the CSR");
}

absl::StatusOr<SpiffeId> spiffeIdFromSans(const SubjectAltNames& sans, absl::string_view what) {
  if (sans.uris.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " has no SPIFFE ID (no URI subjectAltName)"));
  }
  if (sans.uris.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(what, " has ", sans.uris.size(),
                                                   " URI subjectAltNames; exactly one is allowed"));
  }
  if (!hasSpiffeScheme(sans.uris[0])) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " has no SPIFFE ID: its URI subjectAltName is not a spiffe:// URI"));
  }
  auto id = SpiffeId::parse(sans.uris[0]);
  if (!id.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", id.status().message()));
  }
  return id;
}

bool isCa(X509* cert) {
  return (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;
}

bool isSelfSigned(X509* cert) {
  const bool self_signed = X509_self_signed(cert, /*verify_signature=*/1) == 1;
  clearOpenSslErrors();
  return self_signed;
}

absl::Time notBefore(const X509* cert) {
  return asn1ToTime(X509_get0_notBefore(cert));
}
absl::Time notAfter(const X509* cert) {
  return asn1ToTime(X509_get0_notAfter(cert));
}

absl::Status setValidity(X509* cert, absl::Time not_before, absl::Time not_after) {
  if (ASN1_TIME_set(X509_getm_notBefore(cert), absl::ToTimeT(not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert), absl::ToTimeT(not_after)) == nullptr) {
    return openSslError("setting the validity period");
  }
  return absl::OkStatus();
}

std::string describeCert(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio != nullptr &&
      X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) > 0) {
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    return absl::StrCat("\"", absl::string_view(data, length), "\"");
  }
  clearOpenSslErrors();
  auto sans = certificateSans(cert);
  if (sans.ok() && !sans->uris.empty()) {
    return absl::StrCat("\"", sans->uris.front(), "\"");
  }
  return "(no subject)";
}

std::string serialHex(const X509* cert) {
  BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  char* hex = serial != nullptr ? BN_bn2hex(serial.get()) : nullptr;
  if (hex == nullptr) {
    clearOpenSslErrors();
    return "";
  }
  std::string out(hex);
  OPENSSL_free(hex);
  return out;
}

std::string formatTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<X509Ptr> reparse(X509* cert) {
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert, &der);
  if (length <= 0) {
    return openSslError("encoding a certificate");
  }
  const unsigned char* p = der;
  X509Ptr copy(d2i_X509(nullptr, &p, length));
  OPENSSL_free(der);
  if (copy == nullptr) {
    return openSslError("decoding a certificate just encoded");
  }
  return copy;
}

}  // namespace weft::common::identity
