#include "operator/source/yaml_objects.h"

#include <catch2/catch.hpp>
#include <string>

namespace weft::op {
namespace {

std::vector<SourceObject> parseOk(const std::string& yaml) {
  auto objects = parseYamlObjects(yaml, "demo/app.yaml");
  INFO(objects.status().message());
  REQUIRE(objects.ok());
  return *objects;
}

std::string parseError(const std::string& yaml) {
  auto objects = parseYamlObjects(yaml, "demo/app.yaml");
  REQUIRE_FALSE(objects.ok());
  return std::string(objects.status().message());
}

constexpr char kService[] = R"(
apiVersion: v1
kind: Service
metadata:
  name: backend
  namespace: demo
spec:
  clusterIP: 10.96.0.10
  selector:
    app: backend
  ports:
  - name: http
    port: 80
    targetPort: 8080
    appProtocol: http
  - name: echo
    port: 9000
    targetPort: echo
    protocol: TCP
)";

TEST_CASE("a service is read with its VIP, ports, target ports and selector") {
  const auto objects = parseOk(kService);
  REQUIRE(objects.size() == 1);
  const auto& service = std::get<Service>(objects[0]);
  CHECK(service.name == "backend");
  CHECK(service.namespace_name == "demo");
  CHECK(service.cluster_ips == std::vector<std::string>{"10.96.0.10"});
  CHECK(service.selector == Labels{{"app", "backend"}});
  REQUIRE(service.ports.size() == 2);
  CHECK(service.ports[0] == ServicePort{"http", 80, TargetPort::Number(8080), "TCP", "http"});
  CHECK(service.ports[1].target_port == TargetPort::Named("echo"));
}

TEST_CASE("a service port without targetPort targets the same port") {
  const auto objects = parseOk(R"(
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIPs: [10.96.0.20, "fd00:96::20"]
  ports: [{port: 5432}]
)");
  const auto& service = std::get<Service>(objects[0]);
  CHECK(service.namespace_name == "default");
  CHECK(service.cluster_ips == std::vector<std::string>{"10.96.0.20", "fd00:96::20"});
  CHECK(service.ports[0].target_port == TargetPort::Number(5432));
}

TEST_CASE("a headless service has no VIP") {
  const auto objects = parseOk(R"(
apiVersion: v1
kind: Service
metadata: {name: db, namespace: demo}
spec: {clusterIP: None, ports: [{port: 5432}]}
)");
  CHECK(std::get<Service>(objects[0]).cluster_ips.empty());
}

constexpr char kPod[] = R"(
apiVersion: v1
kind: Pod
metadata:
  name: backend-7d9f8c6b5-x2x4k
  namespace: demo
  uid: 0b5c6a0e-1111-4c1e-9a4b-000000000001
  labels: {app: backend, pod-template-hash: 7d9f8c6b5}
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: backend-7d9f8c6b5, controller: true}
spec:
  nodeName: node1
  serviceAccountName: backend
  containers:
  - name: app
    image: nginx
    ports: [{name: http, containerPort: 8080}, {containerPort: 9000, protocol: TCP}]
status:
  phase: Running
  podIP: 10.244.1.11
  podIPs: [{ip: 10.244.1.11}, {ip: "fd00:244:1::11"}]
  conditions:
  - {type: PodScheduled, status: "True"}
  - {type: Ready, status: "True"}
)";

TEST_CASE("a pod is read with its node, identity, addresses, readiness and owner") {
  const auto objects = parseOk(kPod);
  const auto& pod = std::get<Pod>(objects[0]);
  CHECK(pod.name == "backend-7d9f8c6b5-x2x4k");
  CHECK(pod.namespace_name == "demo");
  CHECK(pod.uid == "0b5c6a0e-1111-4c1e-9a4b-000000000001");
  CHECK(pod.node_name == "node1");
  CHECK(pod.service_account == "backend");
  CHECK(pod.ips == std::vector<std::string>{"10.244.1.11", "fd00:244:1::11"});
  CHECK(pod.phase == "Running");
  CHECK(pod.ready);
  CHECK(pod.workload_name == "backend");
  CHECK(pod.container_ports ==
        std::vector<ContainerPort>{{"http", 8080, "TCP"}, {"", 9000, "TCP"}});
}

TEST_CASE("a pod without a service account or Ready condition gets Kubernetes' defaults") {
  const auto objects = parseOk(R"(
apiVersion: v1
kind: Pod
metadata: {name: job-1, namespace: demo, uid: u1}
status: {podIP: 10.244.1.30}
)");
  const auto& pod = std::get<Pod>(objects[0]);
  CHECK(pod.service_account == "default");
  CHECK_FALSE(pod.ready);
  CHECK(pod.workload_name == "job-1");
  CHECK(pod.ips == std::vector<std::string>{"10.244.1.30"});
}

TEST_CASE("namespaces, endpoint slices and weft CRDs are read from one multi-document file") {
  const auto objects = parseOk(R"(
apiVersion: v1
kind: Namespace
metadata:
  name: demo
  labels: {weft.io/mesh: enabled}
---
# a comment-only document is skipped
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: backend-abc
  namespace: demo
  labels: {kubernetes.io/service-name: backend}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- addresses: [10.244.1.11]
  conditions: {ready: false}
  nodeName: node1
  targetRef: {kind: Pod, name: backend-1, namespace: demo}
- addresses: [10.244.2.11]
---
apiVersion: weft.io/v1alpha1
kind: TrafficPolicy
metadata: {name: backend-retries, namespace: demo, generation: 3}
spec:
  retries: {attempts: 3, on: [connect-failure]}
  timeout: "2s"
  weight: 0.5
)");
  REQUIRE(objects.size() == 3);
  CHECK(std::get<Namespace>(objects[0]) == Namespace{"demo", {{"weft.io/mesh", "enabled"}}});
  const auto& slice = std::get<EndpointSlice>(objects[1]);
  CHECK(slice.service_name == "backend");
  CHECK(slice.address_type == "IPv4");
  CHECK(slice.ports == std::vector<EndpointSlicePort>{{"http", 8080, "TCP", ""}});
  REQUIRE(slice.endpoints.size() == 2);
  CHECK(slice.endpoints[0] ==
        SliceEndpoint{{"10.244.1.11"}, /*ready=*/false, "node1", "backend-1", "demo"});
  CHECK(slice.endpoints[1].ready);  // an absent condition means ready
  const auto& policy = std::get<CustomResource>(objects[2]);
  CHECK(policy.kind == CustomResourceKind::kTrafficPolicy);
  CHECK(policy.key() == ObjectKey{"demo", "backend-retries"});
  CHECK(policy.generation == 3);
  CHECK(policy.spec_json ==
        R"({"retries":{"attempts":3,"on":["connect-failure"]},"timeout":"2s","weight":0.5})");
}

TEST_CASE("errors name the file, the document, the object and the field") {
  std::string yaml = std::string("apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n---\n") +
                     "---\n" + kService;
  yaml.replace(yaml.find("port: 80"), 8, "port: 70000");
  CHECK(parseError(yaml) ==
        "demo/app.yaml: document 3 (Service demo/backend): spec.ports[0].port: must be "
        "1..65535, got 70000");
}

TEST_CASE("types are strict: a quoted number is not a port, a bare number is not a string") {
  std::string quoted = kService;
  quoted.replace(quoted.find("port: 80"), 8, "port: \"80\"");
  CHECK(parseError(quoted) ==
        "demo/app.yaml: document 1 (Service demo/backend): spec.ports[0].port: must be a "
        "number, got string \"80\"");

  std::string label = kService;
  label.replace(label.find("app: backend"), 12, "version: 2");
  CHECK(parseError(label) ==
        "demo/app.yaml: document 1 (Service demo/backend): spec.selector.version: must be a "
        "string, got number 2 (quote it)");

  std::string yes = kService;
  yes.replace(yes.find("app: backend"), 12, "canary: yes");
  CHECK_THAT(parseError(yes), Catch::EndsWith("spec.selector.canary: must be a string, got "
                                              "boolean yes (quote it)"));
}

TEST_CASE("a pod's Ready condition status must be a quoted string") {
  std::string pod = kPod;
  pod.replace(pod.find("{type: Ready, status: \"True\"}"), 29, "{type: Ready, status: True}");
  CHECK_THAT(parseError(pod),
             Catch::EndsWith("(Pod demo/backend-7d9f8c6b5-x2x4k): status.conditions[1].status: "
                             "must be a string, got boolean True (quote it)"));
}

TEST_CASE("an unknown kind is an error for that document, listing what weft reads") {
  const std::string error = parseError(R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
)");
  CHECK_THAT(error, Catch::StartsWith("demo/app.yaml: document 1 (Deployment demo/web): kind: "
                                      "\"Deployment\" is not a kind weft reads; it reads "
                                      "Namespace (v1), Pod (v1), Service (v1)"));
}

TEST_CASE("a known kind with the wrong apiVersion is an error") {
  CHECK(parseError("apiVersion: weft.io/v1\nkind: TrafficPolicy\nmetadata: {name: p}\n") ==
        "demo/app.yaml: document 1 (TrafficPolicy default/p): apiVersion: must be "
        "weft.io/v1alpha1 for a TrafficPolicy, got \"weft.io/v1\"");
}

TEST_CASE("YAML syntax errors give the line and column") {
  CHECK(parseError("apiVersion: v1\nkind: Service\nmetadata: {name: [x\n") ==
        "demo/app.yaml: line 4, column 1: end of sequence flow not found");
}

TEST_CASE("required and malformed fields are reported") {
  CHECK_THAT(parseError("apiVersion: v1\nkind: Service\nmetadata: {namespace: demo}\n"),
             Catch::EndsWith("(Service): metadata.name: required"));
  CHECK_THAT(parseError("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"),
             Catch::EndsWith("(Pod default/p): metadata.uid: required (the agent finds a pod's "
                             "cgroup by it)"));
  CHECK_THAT(parseError("apiVersion: v1\nkind: Pod\nmetadata: {name: p, uid: u}\n"
                        "spec: {nodeName: ../etc}\n"),
             Catch::EndsWith("spec.nodeName: \"../etc\" is not a valid name (lowercase letters, "
                             "digits, '-' and '.', at most 253)"));
  CHECK_THAT(parseError("apiVersion: v1\nkind: Pod\nmetadata: {name: p, uid: u}\n"
                        "status: {podIP: 10.244.1.300}\n"),
             Catch::EndsWith("status.podIP: \"10.244.1.300\" is not an IP address"));
  CHECK_THAT(parseError("kind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80, "
                        "protocol: HTTP}]}\n"),
             Catch::EndsWith("apiVersion: must be v1 for a Service, got \"\""));
  CHECK_THAT(parseError("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
                        "spec: {ports: [{port: 80, protocol: HTTP}]}\n"),
             Catch::EndsWith("spec.ports[0].protocol: must be TCP, UDP or SCTP, got \"HTTP\""));
  CHECK_THAT(parseError("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
                        "spec: {ports: [{port: 80}, {port: 81}]}\n"),
             Catch::EndsWith("spec.ports[0].name: required when a service has more than one "
                             "port"));
  CHECK_THAT(parseError("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
                        "spec: {ports: [{port: 80, targetPort: Not_A_Name}]}\n"),
             Catch::EndsWith("spec.ports[0].targetPort: \"Not_A_Name\" is not a valid port name "
                             "(at most 15 lowercase letters, digits and '-', with a letter)"));
  CHECK_THAT(parseError("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: [1]\n"),
             Catch::EndsWith("(Service default/s): spec: must be a map, got a list"));
}

TEST_CASE("strings must be UTF-8, as the JSON and protobuf they end up in require") {
  CHECK_THAT(parseError("apiVersion: v1\nkind: Pod\nmetadata: {name: p, uid: \"u\xff\"}\n"),
             Catch::EndsWith("(Pod default/p): metadata.uid: must be valid UTF-8"));
  CHECK_THAT(parseError("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns1\n"
                        "  labels: {\"\xc0\xaf\": x}\n"),
             Catch::EndsWith("(Namespace ns1): metadata.labels: keys must be valid UTF-8"));
  CHECK(parseOk("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns1\n"
                "  labels: {team: \"caf\xc3\xa9 \xf0\x9f\x9a\x80\"}\n")
            .size() == 1);
}

TEST_CASE("a key written twice in one map is an error, not a silent choice") {
  CHECK_THAT(parseError("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n"),
             Catch::EndsWith("metadata: key \"name\" appears twice"));
}

TEST_CASE("a document that is not a map is an error") {
  CHECK(parseError("- 1\n- 2\n") ==
        "demo/app.yaml: document 1: must be a map with apiVersion, kind and metadata");
}

TEST_CASE("a CRD spec expanded through aliases is refused, not expanded without bound") {
  std::string yaml =
      "apiVersion: weft.io/v1alpha1\nkind: TrafficPolicy\nmetadata: {name: p}\n"
      "spec:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 8; ++i) {
    yaml += "  a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) {
      yaml += (j ? ", *a" : "*a") + std::to_string(i - 1);
    }
    yaml += "]\n";
  }
  CHECK_THAT(parseError(yaml), Catch::Contains("too large or too deeply nested"));
}

TEST_CASE("input on which the YAML parser stops making progress is an error, not a hang") {
  // Found by fuzzing: yaml-cpp 0.7 yields empty documents forever on this.
  const std::string input(
      "---\n---\n# not\x7f\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf\xdf"
      "p\xff\xff\xff\xff\xff\xff\xff---\n---\n#\n---\n\x8c not\x7f"
      "\xff\xff\xff\xff\xff\xff\xff---\n---\n# \n ,\n");
  CHECK(parseError(input) == "demo/app.yaml: the YAML parser stopped making progress");
}

TEST_CASE("an empty file has no objects") {
  CHECK(parseOk("").empty());
  CHECK(parseOk("# nothing yet\n---\n").empty());
}

}  // namespace
}  // namespace weft::op
