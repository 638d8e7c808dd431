#pragma once

// Multi-document YAML (what `kubectl get -o yaml` prints and `kubectl apply -f` takes) →
// the objects weft uses: Namespace, Pod, Service, EndpointSlice (v1, discovery.k8s.io/v1)
// and the weft.io/v1alpha1 CRDs. Fields weft does not use are ignored; fields it uses are
// read strictly. Errors name the file, the document, the object and the field:
//   demo/app.yaml: document 3 (Service demo/backend): spec.ports[0].port: must be
//   1..65535, got 70000

#include <yaml-cpp/yaml.h>

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

// The documents of a YAML text, parsed (the size limit and the guard against yaml-cpp looping
// on malformed input applied). Errors start with `file` and give the line and column.
absl::StatusOr<std::vector<YAML::Node>> loadYamlDocuments(absl::string_view text,
                                                          absl::string_view file);

// One object already parsed into a node: a YAML document, or an object from the API server
// turned into a node (json_objects.h), so both sources read objects with the same rules.
// Errors name the object and the field: "Service demo/backend: spec.ports[0].port: ...".
absl::StatusOr<SourceObject> readObjectNode(const YAML::Node& node);

}  // namespace weft::op
