//! The OpenAPI 3.1 document served at `/v1/openapi.json`, written by hand
//! (the API is small; a test keeps it in step with the router).

use axum::Json;
use serde_json::{Value, json};

pub(super) async fn serve() -> Json<Value> {
    Json(document())
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

fn json_response(description: &str, schema: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}
    })
}

fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": {"type": "string"}})
}

fn query_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": true, "description": description, "schema": {"type": "integer", "minimum": 0}})
}

fn decision(summary: &str, reject: bool) -> Value {
    let mut body = json!({
        "type": "object",
        "required": ["code"],
        "additionalProperties": false,
        "properties": {"code": {"type": "string", "description": "Current TOTP code (8 digits)."}}
    });
    if reject {
        body["required"] = json!(["code", "reason"]);
        body["properties"]["reason"] = json!({"type": "string", "maxLength": 2000});
    }
    json!({
        "post": {
            "summary": summary,
            "security": [{"maintainer": []}],
            "parameters": [path_param("id", "Release id.")],
            "requestBody": {"required": true, "content": {"application/json": {"schema": body}}},
            "responses": {
                "200": json_response("Decision recorded.", "Decision"),
                "400": error_response("Malformed id or body."),
                "401": error_response("Credentials refused (the reason is only logged)."),
                "404": error_response("No such release."),
                "409": error_response("Release not staged, or already approved by this maintainer.")
            }
        }
    })
}

/// The whole document.
pub fn document() -> Value {
    let file = json!({
        "type": "object",
        "required": ["path", "size", "sha256"],
        "properties": {
            "path": {"type": "string"},
            "size": {"type": "integer", "minimum": 0},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}
        }
    });
    let summary_props = json!({
        "id": {"type": "integer"},
        "package": {"type": "string"},
        "version": {"type": "string"},
        "state": {"type": "string", "enum": ["staged", "released", "rejected"]},
        "created_at": {"type": "integer", "description": "Unix seconds."},
        "decided_at": {"type": ["integer", "null"]}
    });
    let pv = [
        path_param("name", "Package name."),
        path_param("version", "Version."),
    ];
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "shipgate release gate",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "CI stages releases with its OIDC token; maintainers approve with a maintainer token and a TOTP code; the gate signs and serves released files, records every event in a transparency log (RFC 9162 Merkle tree, C2SP signed checkpoints) under /v1/log/, and issues execution tokens for released releases (OIDC discovery at /.well-known/openid-configuration, keys at /.well-known/jwks.json, outside /v1/). Every error is {\"error\": {\"code\", \"message\"}}."
        },
        "components": {
            "securitySchemes": {
                "ci": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "The CI provider's OIDC token, minted for the audience in /v1/info."},
                "maintainer": {"type": "http", "scheme": "bearer", "description": "A maintainer token (sgm_...) from `shipgate admin enroll`."}
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string", "enum": ["bad_request", "unauthorized", "not_found", "conflict", "payload_too_large", "method_not_allowed", "internal", "unavailable", "not_implemented"]},
                        "message": {"type": "string"}
                    }}}
                },
                "Info": {
                    "type": "object",
                    "required": ["service", "version", "public_url", "audience", "public_key", "key_fingerprint"],
                    "properties": {
                        "service": {"type": "string"},
                        "version": {"type": "string"},
                        "public_url": {"type": "string"},
                        "audience": {"type": "string"},
                        "public_key": {"type": "string", "description": "minisign public key file."},
                        "key_fingerprint": {"type": "string", "description": "SHA-256 of the raw public key."},
                        "log_origin": {"type": "string", "description": "The transparency log's origin: public_url without scheme and trailing slash."},
                        "log_key": {"type": "string", "description": "Checkpoint verifier key <origin>+<key id>+<base64(0x01 || Ed25519 key)> (the gate key)."}
                    }
                },
                "LogEntries": {"type": "object", "required": ["entries"], "properties": {"entries": {"type": "array", "maxItems": 1000, "items": {
                    "type": "object", "required": ["index", "data", "leaf_hash"], "properties": {
                        "index": {"type": "integer", "minimum": 0},
                        "data": {"type": "string", "description": "The leaf: canonical JSON text of the event (format shipgate.event.v1), exactly the bytes hashed."},
                        "leaf_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "SHA-256(0x00 || data)."}
                    }}}}},
                "InclusionProof": {"type": "object", "required": ["index", "size", "proof"], "properties": {
                    "index": {"type": "integer"}, "size": {"type": "integer"},
                    "proof": {"type": "array", "items": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "description": "RFC 9162 section 2.1.3 inclusion proof."}
                }},
                "ConsistencyProof": {"type": "object", "required": ["from", "to", "proof"], "properties": {
                    "from": {"type": "integer"}, "to": {"type": "integer"},
                    "proof": {"type": "array", "items": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "description": "RFC 9162 section 2.1.4 consistency proof."}
                }},
                "ReleasedVersion": {"type": "object", "required": ["release_id", "package", "version", "manifest_sha256", "log_index"], "properties": {
                    "release_id": {"type": "integer"}, "package": {"type": "string"}, "version": {"type": "string"},
                    "manifest_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                    "log_index": {"type": "integer", "description": "Index of the `released` leaf in the transparency log."}
                }},
                "File": file,
                "ReleaseSummary": {"type": "object", "properties": summary_props},
                "ReleaseList": {"type": "object", "properties": {"releases": {"type": "array", "items": {"$ref": "#/components/schemas/ReleaseSummary"}}, "next_before": {"type": "integer", "description": "Present when more releases follow: pass it as before."}}},
                "Release": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"}, "package": {"type": "string"}, "version": {"type": "string"},
                        "state": {"type": "string", "enum": ["staged", "released", "rejected"]},
                        "created_at": {"type": "integer"}, "decided_at": {"type": ["integer", "null"]},
                        "provenance": {"type": "object", "properties": {
                            "issuer": {"type": "string"}, "subject": {"type": "string"}, "repository": {"type": "string"},
                            "repository_owner_id": {"type": ["string", "null"]}, "workflow": {"type": "string"},
                            "ref": {"type": "string"}, "commit_sha": {"type": "string"}, "run_id": {"type": "string"},
                            "environment": {"type": ["string", "null"]}, "event_name": {"type": ["string", "null"]}
                        }},
                        "files": {"type": "array", "items": {"$ref": "#/components/schemas/File"}},
                        "approvals": {"type": "array", "items": {"type": "object", "properties": {"maintainer": {"type": "string"}, "approved_at": {"type": "integer"}}}},
                        "quorum": {"type": "integer"},
                        "reject_reason": {"type": ["string", "null"]},
                        "log_index": {"type": ["integer", "null"], "description": "Index of the `released` leaf in the transparency log, once released."},
                        "diff": {"type": "object", "properties": {
                            "previous_version": {"type": ["string", "null"]},
                            "added": {"type": "array", "items": {"$ref": "#/components/schemas/File"}},
                            "removed": {"type": "array", "items": {"$ref": "#/components/schemas/File"}},
                            "changed": {"type": "array", "items": {"type": "object", "properties": {
                                "path": {"type": "string"}, "old_size": {"type": "integer"}, "new_size": {"type": "integer"},
                                "size_delta": {"type": "integer"}, "old_sha256": {"type": "string"}, "new_sha256": {"type": "string"}
                            }}},
                            "unchanged": {"type": "integer"}
                        }},
                        "artifacts": {"type": "object", "description": "Packages with registry targets: what the staged archives state and declare, and what changed since the previous released version.", "properties": {
                            "files": {"type": "array", "items": {"type": "object", "description": "kind, format, file_name, name, version, declares {scripts, dependencies, bins, entry_points, pth_files, build_script, proc_macro}"}},
                            "previous_version": {"type": ["string", "null"]},
                            "changes": {"type": "array", "items": {"type": "object", "properties": {
                                "subject": {"type": "string"}, "change": {"type": "string", "enum": ["added", "changed", "removed"]},
                                "key": {"type": "string"}, "before": {"type": "string"}, "after": {"type": "string"}, "loud": {"type": "boolean"}
                            }}},
                            "loud": {"type": "boolean", "description": "An install script, .pth file, build script or proc-macro was added or changed."}
                        }},
                        "targets": {"type": "array", "items": {"type": "object", "properties": {
                            "kind": {"type": "string", "enum": ["npm", "pypi", "cargo"]}, "registry": {"type": "string"},
                            "state": {"type": "string", "enum": ["staged", "pending", "published", "failed", "conflict"]},
                            "attempts": {"type": "integer"}, "last_error": {"type": ["string", "null"]}, "url": {"type": ["string", "null"]},
                            "integrity": {"type": "array", "items": {"type": "object", "properties": {"file_name": {"type": "string"}, "integrity": {"type": "string"}}}}
                        }}}
                    }
                },
                "Staged": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "package": {"type": "string"}, "version": {"type": "string"},
                    "state": {"type": "string"}, "files": {"type": "array", "items": {"$ref": "#/components/schemas/File"}}
                }},
                "ExecutionToken": {
                    "type": "object",
                    "required": ["token", "issuer", "audience", "expires_at", "jti", "release_id", "package", "version", "digest"],
                    "properties": {
                        "token": {"type": "string", "description": "Compact JWT signed by the gate (keys at /.well-known/jwks.json). Claims: iss, sub (release:PACKAGE@VERSION), aud, iat, nbf, exp, jti, release_id, package, version, digest, commit_sha, repository, workflow, ref, run_id, approved_by."},
                        "issuer": {"type": "string", "description": "The `iss`: the gate's public URL; its OIDC discovery document is at {issuer}/.well-known/openid-configuration."},
                        "audience": {"type": "string", "description": "The `aud`: the package's execution_audience (default deploy:PACKAGE)."},
                        "expires_at": {"type": "integer", "description": "The `exp` (Unix seconds)."},
                        "jti": {"type": "string"},
                        "release_id": {"type": "integer"},
                        "package": {"type": "string"},
                        "version": {"type": "string"},
                        "digest": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "SHA-256 of the signed release manifest."}
                    }
                },
                "Decision": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "state": {"type": "string"}, "approvals": {"type": "integer"},
                    "quorum": {"type": "integer"}, "manifest_sha256": {"type": "string"}
                }}
            }
        },
        "paths": {
            "/v1/info": {"get": {
                "summary": "The gate's public key, fingerprint and the audience CI tokens must carry.",
                "responses": {"200": json_response("Gate information.", "Info")}
            }},
            "/v1/openapi.json": {"get": {
                "summary": "This document.",
                "responses": {"200": {"description": "OpenAPI 3.1 document.", "content": {"application/json": {}}}}
            }},
            "/v1/releases": {"get": {
                "summary": "List releases, newest first.",
                "parameters": [
                    {"name": "state", "in": "query", "required": false, "schema": {"type": "string", "enum": ["staged", "released", "rejected"]}},
                    {"name": "package", "in": "query", "required": false, "schema": {"type": "string"}},
                    {"name": "before", "in": "query", "required": false, "description": "Only releases with a smaller id: the previous page's next_before.", "schema": {"type": "string", "pattern": "^[1-9][0-9]{0,17}$"}},
                    {"name": "limit", "in": "query", "required": false, "description": "Releases per page, 1 to 500 (default 100).", "schema": {"type": "string", "pattern": "^[1-9][0-9]{0,2}$"}}
                ],
                "responses": {"200": json_response("One page of releases.", "ReleaseList"), "400": error_response("Unknown state, malformed package, before or limit, or an unknown parameter.")}
            }},
            "/v1/releases/{id}": {"get": {
                "summary": "One release: files, provenance, approvals and the diff against the previous released version.",
                "parameters": [path_param("id", "Release id.")],
                "responses": {"200": json_response("The release.", "Release"), "400": error_response("Malformed id."), "404": error_response("No such release.")}
            }},
            "/v1/releases/{id}/approve": decision("Approve a staged release (maintainer token + TOTP code). Releases it when the quorum is met.", false),
            "/v1/releases/{id}/reject": decision("Reject a staged release with a reason.", true),
            "/v1/releases/{id}/files/{file}": {"get": {
                "summary": "A file of a release as staged (any state while its bytes are stored), for the maintainers of its package only: to look inside before approving. Verify it against the digest in GET /v1/releases/{id}.",
                "security": [{"maintainer": []}],
                "parameters": [path_param("id", "Release id."), path_param("file", "File name.")],
                "responses": {
                    "200": {"description": "The file's bytes.", "content": {"application/octet-stream": {}}},
                    "400": error_response("Malformed id or file name."),
                    "401": error_response("No maintainer token, a CI token, or not a maintainer of the package (the reason is only logged)."),
                    "404": error_response("No such file, or its bytes were deleted.")
                }
            }},
            "/v1/releases/{id}/execution-token": {"post": {
                "summary": "A short-lived execution token bound to a released release, for the CI run that staged it. Authenticate with a fresh CI OIDC token (audience from /v1/info) that matches the package's trusted-publisher binding and the staging provenance: same repository and owner id, workflow and ref, commit, run id and environment. Each CI token is usable once.",
                "security": [{"ci": []}],
                "parameters": [path_param("id", "Release id.")],
                "responses": {
                    "200": json_response("The execution token.", "ExecutionToken"),
                    "400": error_response("Malformed id."),
                    "401": error_response("CI token missing or refused, replayed, or not from the run that staged the release (the reason is only logged)."),
                    "404": error_response("No such release."),
                    "409": error_response("The release is staged or rejected, not released."),
                    "501": error_response("This gate cannot issue execution tokens (its public_url is not https)."),
                    "503": error_response("The CI provider's keys are unreachable.")
                }
            }},
            "/v1/packages/{name}/versions/{version}": {"post": {
                "summary": "Stage a release (CI token). multipart/form-data: part `announce` (JSON {\"files\": [{name, size, sha256}]}) then parts `file.N` with the bytes of files[N]. File names: ASCII letters, digits and ._-+~@=,()[] only, at most 255 bytes.",
                "security": [{"ci": []}],
                "parameters": pv,
                "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
                    "announce": {"type": "string", "contentMediaType": "application/json"}
                }, "patternProperties": {"^file\\.[0-9]+$": {"type": "string", "contentMediaType": "application/octet-stream"}}}}}},
                "responses": {
                    "201": json_response("Staged.", "Staged"),
                    "400": error_response("Malformed body, hostile name, size or digest mismatch."),
                    "401": error_response("CI token missing or refused (the reason is only logged)."),
                    "404": error_response("Package not configured."),
                    "409": error_response("Version already staged or released, or the package's limits (max_pending_releases, max_staged_bytes) refuse it: code limit_exceeded."),
                    "413": error_response("Body over the gate's cap, or the release over the package's max_release_bytes."),
                    "503": error_response("The CI provider's keys are unreachable.")
                }
            }},
            "/v1/packages/{name}/versions/{version}/manifest": {"get": {
                "summary": "The signed release manifest (released versions only).",
                "parameters": pv,
                "responses": {"200": {"description": "Manifest bytes.", "content": {"application/octet-stream": {}}}, "404": error_response("Not released.")}
            }},
            "/v1/packages/{name}/versions/{version}/manifest.minisig": {"get": {
                "summary": "The manifest's minisign signature (verify with the key in /v1/info).",
                "parameters": pv,
                "responses": {"200": {"description": "minisign signature file.", "content": {"text/plain": {}}}, "404": error_response("Not released.")}
            }},
            "/v1/packages/{name}/versions/{version}/files/{file}": {"get": {
                "summary": "One released file, streamed.",
                "parameters": [pv[0].clone(), pv[1].clone(), path_param("file", "File name.")],
                "responses": {"200": {"description": "File bytes.", "content": {"application/octet-stream": {}}}, "404": error_response("Not released or no such file.")}
            }},
            "/v1/packages/{name}/versions/{version}/release": {"get": {
                "summary": "Where a released version's `released` event is in the transparency log (fetch then asks for its inclusion proof).",
                "parameters": pv,
                "responses": {"200": json_response("The released version.", "ReleasedVersion"), "400": error_response("Malformed name or version."), "404": error_response("Not released.")}
            }},
            "/v1/log/checkpoint": {"get": {
                "summary": "The latest checkpoint: a C2SP tlog-checkpoint (origin, tree size, base64 root hash) in a C2SP signed note, signed with the gate key under the origin's name.",
                "responses": {"200": {"description": "Signed note.", "content": {"text/plain": {}}}}
            }},
            "/v1/log/key": {"get": {
                "summary": "The checkpoint verifier key, <origin>+<key id>+<base64 key>, one line.",
                "responses": {"200": {"description": "Verifier key.", "content": {"text/plain": {}}}}
            }},
            "/v1/log/entries": {"get": {
                "summary": "Leaves start..end (end exclusive, at most 1000 and about 4 MiB per answer, never none: ask again from the next index).",
                "parameters": [query_param("start", "First leaf index."), query_param("end", "One past the last leaf index, at most the tree size.")],
                "responses": {"200": json_response("Leaves.", "LogEntries"), "400": error_response("Missing parameter or a range outside the log.")}
            }},
            "/v1/log/proof/inclusion": {"get": {
                "summary": "Inclusion proof of leaf `index` in the tree of `size` leaves.",
                "parameters": [query_param("index", "Leaf index."), query_param("size", "Tree size (from a checkpoint), at most the current size.")],
                "responses": {"200": json_response("Proof.", "InclusionProof"), "400": error_response("Index not below size, or size beyond the log.")}
            }},
            "/v1/log/proof/consistency": {"get": {
                "summary": "Consistency proof from the tree of `from` leaves to the tree of `to` leaves.",
                "parameters": [query_param("from", "Older tree size."), query_param("to", "Newer tree size, at most the current size.")],
                "responses": {"200": json_response("Proof.", "ConsistencyProof"), "400": error_response("from > to, or to beyond the log.")}
            }}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_with_its_method() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        let routes = super::super::routes(1);
        assert!(routes.len() >= 10);
        for (method, path, _) in routes {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} is served but missing from openapi.json"
            );
        }
        // And nothing documented that is not served.
        let served: Vec<(String, String)> = super::super::routes(1)
            .into_iter()
            .map(|(m, p, _)| (m.to_owned(), p.to_owned()))
            .collect();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                assert!(
                    served.contains(&(method.clone(), path.clone())),
                    "{method} {path} is documented but not served"
                );
            }
        }
    }
}
