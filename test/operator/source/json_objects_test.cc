#include "operator/source/json_objects.h"

#include <catch2/catch.hpp>
#include <string>

#include "operator/source/yaml_objects.h"

namespace weft::op {
namespace {

using nlohmann::json;

SourceObject fromJson(const std::string& text, const char* api_version, const char* kind) {
  auto object = objectFromJson(json::parse(text), api_version, kind);
  INFO(object.status().message());
  REQUIRE(object.ok());
  return *object;
}

std::string jsonError(const std::string& text, const char* api_version, const char* kind) {
  auto object = objectFromJson(json::parse(text), api_version, kind);
  REQUIRE_FALSE(object.ok());
  return std::string(object.status().message());
}

SourceObject fromYaml(const std::string& text) {
  auto objects = parseYamlObjects(text, "a.yaml");
  INFO(objects.status().message());
  REQUIRE(objects.ok());
  REQUIRE(objects->size() == 1);
  return objects->front();
}

TEST_CASE("a pod from the API is the same object as the same pod written in YAML") {
  const SourceObject from_json = fromJson(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web-1", "namespace": "demo", "uid": "u-1",
                 "labels": {"app": "web", "version": "2", "pod-template-hash": "5d9f"},
                 "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                      "name": "web-5d9f", "controller": true}],
                 "managedFields": [{"manager": "kubectl"}],
                 "annotations": {"a": "b"}},
    "spec": {"nodeName": "node1", "serviceAccountName": "web",
             "containers": [{"name": "app", "ports": [{"name": "http", "containerPort": 8080}]}]},
    "status": {"phase": "Running", "podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}],
               "conditions": [{"type": "Ready", "status": "True"}]}})",
                                          "v1", "Pod");
  const SourceObject from_yaml = fromYaml(R"(
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: demo
  uid: u-1
  labels: {app: web, version: "2", pod-template-hash: 5d9f}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d9f, controller: true}]
spec:
  nodeName: node1
  serviceAccountName: web
  containers: [{name: app, ports: [{name: http, containerPort: 8080}]}]
status:
  phase: Running
  podIP: 10.244.1.5
  podIPs: [{ip: 10.244.1.5}]
  conditions: [{type: Ready, status: "True"}]
)");
  CHECK(from_json == from_yaml);
  const Pod& pod = std::get<Pod>(from_json);
  CHECK(pod.workload_name == "web");
  CHECK(pod.ready);
  CHECK(pod.container_ports[0].container_port == 8080);
}

TEST_CASE("list items without kind and apiVersion get the type's; other ones are refused") {
  const SourceObject ns = fromJson(R"({"metadata": {"name": "demo", "labels": {"weft.io/mesh":
    "enabled"}}})",
                                   "v1", "Namespace");
  CHECK(std::get<Namespace>(ns).labels.at("weft.io/mesh") == "enabled");
  CHECK(jsonError(R"({"kind": "Service", "metadata": {"name": "x"}})", "v1", "Pod") ==
        "kind: must be \"Pod\", got \"Service\"");
  CHECK(jsonError(R"({"apiVersion": "v2", "metadata": {"name": "x"}})", "v1", "Pod") ==
        "apiVersion: must be \"v1\", got \"v2\"");
  CHECK(jsonError("[]", "v1", "Pod") == "a Pod must be a JSON object, got array");
}

TEST_CASE("JSON types are checked as strictly as YAML's, with the same messages") {
  // A string where a port number belongs, a number where a label value belongs.
  CHECK(jsonError(R"({"metadata": {"name": "web", "namespace": "demo"},
                      "spec": {"ports": [{"port": "80"}]}})",
                  "v1", "Service") ==
        "Service demo/web: spec.ports[0].port: must be a number, got string \"80\"");
  CHECK(jsonError(R"({"metadata": {"name": "web", "namespace": "demo", "labels": {"v": 2}}})", "v1",
                  "Service") ==
        "Service demo/web: metadata.labels.v: must be a string, got number 2 (quote it)");
  // Strings that YAML would read as other types stay strings: they were quoted in JSON.
  const SourceObject service = fromJson(R"({"metadata": {"name": "web", "namespace": "demo"},
      "spec": {"selector": {"on": "yes", "n": "null", "e": ""}}})",
                                        "v1", "Service");
  CHECK(std::get<Service>(service).selector == Labels{{"on", "yes"}, {"n", "null"}, {"e", ""}});
}

TEST_CASE("a custom resource's spec is kept as the same JSON YAML gives") {
  // Keys come out sorted, as the API server sends a custom resource's (Go encodes maps so).
  const SourceObject from_json = fromJson(R"({"metadata": {"name": "tp", "namespace": "demo",
      "generation": 4}, "spec": {"retries": 3, "ratio": 0.5, "on": true, "none": null,
      "hosts": ["a", "b"]}})",
                                          "weft.io/v1alpha1", "TrafficPolicy");
  const SourceObject from_yaml = fromYaml(R"(
apiVersion: weft.io/v1alpha1
kind: TrafficPolicy
metadata: {name: tp, namespace: demo, generation: 4}
spec: {hosts: [a, b], none: null, "on": true, ratio: 0.5, retries: 3}
)");
  CHECK(from_json == from_yaml);
  CHECK(std::get<CustomResource>(from_json).spec_json ==
        R"({"hosts":["a","b"],"none":null,"on":true,"ratio":0.5,"retries":3})");
}

TEST_CASE("fields weft never reads are not converted; deep nesting is refused") {
  auto node = yamlNodeFromJson(json::parse(
      R"({"metadata": {"name": "a", "managedFields": [{}], "annotations": {"x": "y"}},
          "spec": {"metadata": {"annotations": {"kept": "below the top"}}}})"));
  REQUIRE(node.ok());
  CHECK_FALSE((*node)["metadata"]["managedFields"].IsDefined());
  CHECK_FALSE((*node)["metadata"]["annotations"].IsDefined());
  CHECK((*node)["spec"]["metadata"]["annotations"]["kept"].as<std::string>() == "below the top");

  json deep = json::object();
  for (int i = 0; i < 100; ++i) {
    deep = json{{"a", deep}};
  }
  CHECK(jsonError(json{{"metadata", {{"name", "tp"}}}, {"spec", deep}}.dump(), "weft.io/v1alpha1",
                  "TrafficPolicy") == "nested more than 64 levels deep");
}

}  // namespace
}  // namespace weft::op
