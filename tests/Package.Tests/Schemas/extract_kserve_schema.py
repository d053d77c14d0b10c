#!/usr/bin/env python3
"""Writes kserve-inferenceservice.schema.json: the part of KServe's InferenceService CRD that ModelForge's manifests use.

Usage: extract_kserve_schema.py CRD_YAML COMMIT > kserve-inferenceservice.schema.json
where CRD_YAML is config/crd/full/serving.kserve.io_inferenceservices.yaml of kserve/kserve at COMMIT.

What is kept from spec.versions[v1beta1].schema.openAPIV3Schema:
- spec.predictor.model's fields that ModelForge writes (modelFormat, protocolVersion, runtime, runtimeVersion,
  storageUri, resources) and the predictor's scaling fields, exactly as in the CRD;
- every other property of the root, spec, spec.predictor and spec.predictor.model by name with its type only, so
  that those objects can be closed (additionalProperties: false) the way kubectl's default strict field validation
  treats them: an unknown or misspelled field is refused.
Added, and marked with $comment: apiVersion/kind values (the CRD's group, version and kind) and metadata.name's
rule, which KServe enforces in its validating webhook rather than in the CRD.
"""
import json
import sys

import yaml

KEEP_PREDICTOR = ["model", "minReplicas", "maxReplicas", "scaleMetric", "scaleTarget", "containerConcurrency", "timeout",
                  "canaryTrafficPercent", "serviceAccountName", "annotations", "labels", "nodeSelector"]
KEEP_MODEL = ["modelFormat", "protocolVersion", "runtime", "runtimeVersion", "storageUri", "resources"]


def type_only(schema):
    return {"type": schema["type"]} if "type" in schema else {}


def closed(schema, keep, detail=lambda name, s: s):
    props = {name: (detail(name, s) if name in keep else type_only(s)) for name, s in schema["properties"].items()}
    out = {k: v for k, v in schema.items() if k != "properties"}
    out["properties"] = props
    out["additionalProperties"] = False
    return out


def main(crd_path, commit):
    crd = yaml.safe_load(open(crd_path, encoding="utf-8"))
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta1")
    root = version["schema"]["openAPIV3Schema"]
    spec = root["properties"]["spec"]
    predictor = spec["properties"]["predictor"]
    model = closed(predictor["properties"]["model"], KEEP_MODEL)
    model["properties"]["modelFormat"]["additionalProperties"] = False
    model["properties"]["resources"]["additionalProperties"] = False
    predictor = closed(predictor, KEEP_PREDICTOR, lambda name, s: model if name == "model" else s)
    spec = closed(spec, ["predictor"], lambda name, s: predictor)
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    source = f"https://github.com/kserve/kserve/blob/{commit}/config/crd/full/serving.kserve.io_inferenceservices.yaml"
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:modelforge:test:kserve-inferenceservice-v1beta1",
        "title": f"KServe {kind} {group}/v1beta1 (excerpt)",
        "$comment": " ".join([
            f"Excerpt of the openAPIV3Schema of {crd['metadata']['name']}, version v1beta1, from {source}.",
            "Copyright The KServe Authors. Licensed under the Apache License, Version 2.0 "
            "(http://www.apache.org/licenses/LICENSE-2.0); KServe's LICENSE: https://github.com/kserve/kserve/blob/" + commit + "/LICENSE.",
            "Made by tests/Package.Tests/Schemas/extract_kserve_schema.py (see there for what is kept); "
            "properties other than the ones ModelForge writes keep only their type; objects are closed (additionalProperties: false) "
            "as kubectl's strict field validation treats them.",
        ]),
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"$comment": "the CRD's spec.group and version", "const": f"{group}/v1beta1"},
            "kind": {"$comment": "the CRD's spec.names.kind", "const": kind},
            "metadata": {
                "$comment": " ".join([
                    "The CRD says only type: object. The name rule is KServe's validating webhook "
                    f"(pkg/apis/serving/v1beta1/inference_service_validation.go, IsvcNameFmt, at {commit}); the length limit "
                    "follows from the predictor's Kubernetes Service being named NAME-predictor "
                    "(pkg/constants/constants.go PredictorServiceName) and Service names being DNS labels of at most 63 characters.",
                ]),
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "pattern": "^[a-z]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63 - len("-predictor")},
                    "namespace": {"type": "string"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
            "spec": spec,
            "status": type_only(root["properties"]["status"]),
        },
        "additionalProperties": False,
    }
    json.dump(schema, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
