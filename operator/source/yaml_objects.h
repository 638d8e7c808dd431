#pragma once

// Multi-document YAML (what `kubectl get -o yaml` prints and `kubectl apply -f` takes) →
// the objects weft uses: Namespace, Pod, Service, EndpointSlice (v1, discovery.k8s.io/v1)
// and the weft.io/v1alpha1 CRDs. Fields weft does not use are ignored; fields it uses are
// read strictly. Errors name the file, the document, the object and the field:
//   demo/app.yaml: document 3 (Service demo/backend): spec.ports[0].port: must be
//   1..65535, got 70000

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "operator/model/objects.h"

namespace weft::op {

// Larger files are refused before parsing; Kubernetes itself stores objects up to ~1.5 MiB.
inline constexpr size_t kMaxYamlFileBytes = 8 * 1024 * 1024;

// Every object in `text`, in document order; empty documents are skipped. One bad document
// fails the whole text, so a file is taken entirely or not at all. `file` names the text in
// errors.
absl::StatusOr<std::vector<SourceObject>> parseYamlObjects(absl::string_view text,
                                                           absl::string_view file);

}  // namespace weft::op
