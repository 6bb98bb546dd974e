//! The OpenAPI 3.1 document served at `/v1/openapi.json`, generated from the
//! handlers' `#[utoipa::path]` annotations and the API bodies' schemas
//! (`shipgate-protocol` with its `openapi` feature), so it cannot drift from
//! the code. A new route is one annotation on its handler plus its name in
//! [`ApiDoc`]'s `paths` (a test fails until both are there); a new field of
//! a body appears by itself.

use std::sync::OnceLock;

use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, SchemaFormat};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use shipgate_protocol::openapi::{
    FileName, PackageName, PageLimit, RejectReason, ReleaseIdText, TotpCode, VersionName,
};

/// The document's description.
const DESCRIPTION: &str = "CI stages releases with its OIDC token; maintainers approve with a maintainer token and a TOTP code; the gate signs and serves released files, records every event in a transparency log (RFC 9162 Merkle tree, C2SP signed checkpoints) under /v1/log/, and issues execution tokens for released releases (OIDC discovery at /.well-known/openid-configuration, keys at /.well-known/jwks.json, outside /v1/). Every error is {\"error\": {\"code\", \"message\"}}. Besides the answers listed per route, any route answers 404 for a path it does not serve and 405 for a method it does not serve; a request the HTTP layer cannot parse gets an empty 400, 414 or 431.";

#[derive(OpenApi)]
#[openapi(
    info(title = "shipgate release gate", description = DESCRIPTION),
    paths(
        super::read::info,
        serve,
        super::read::list,
        super::read::show,
        super::decide::approve,
        super::decide::reject,
        super::execution::issue,
        super::stage::stage,
        super::read::manifest,
        super::read::signature,
        super::read::file,
        super::staged_files::download,
        super::log::released_version,
        super::log::checkpoint,
        super::log::key,
        super::log::entries,
        super::log::inclusion,
        super::log::consistency,
    ),
    // Schemas only parameters use (utoipa collects those of bodies itself).
    components(schemas(ReleaseIdText, PageLimit, PackageName, VersionName, FileName)),
    modifiers(&SecuritySchemes),
)]
struct ApiDoc;

/// The two kinds of bearer credentials.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "ci",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The CI provider's OIDC token, minted for the audience in /v1/info.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "maintainer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A maintainer token (sgm_...) from `shipgate admin enroll`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Body of `POST /v1/releases/{id}/approve` (the wire type is shared with
/// reject; approving refuses a `reason`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Read only by the schema.
pub(super) struct ApproveBody {
    #[schema(value_type = TotpCode)]
    code: String,
}

/// Body of `POST /v1/releases/{id}/reject`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Read only by the schema.
pub(super) struct RejectBody {
    #[schema(value_type = TotpCode)]
    code: String,
    #[schema(value_type = RejectReason)]
    reason: String,
}

/// The staging body: `announce` (JSON) then parts `file.0`, `file.1`, ...
pub(super) struct StageForm;

impl PartialSchema for StageForm {
    fn schema() -> RefOr<Schema> {
        let announce = ObjectBuilder::new()
            .schema_type(Type::String)
            .content_media_type("application/json")
            .description(Some(
                "JSON {\"files\": [{\"name\", \"size\", \"sha256\"}]}: every file that follows (see StageAnnouncement).",
            ));
        let file = ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("binary".into())))
            .description(Some("Part file.N: the bytes of files[N]."));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("announce", announce)
            .required("announce")
            .additional_properties(Some(file))
            .into()
    }
}

impl ToSchema for StageForm {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            "StageAnnouncement".to_owned(),
            <shipgate_protocol::wire::StageAnnouncement as PartialSchema>::schema(),
        ));
        <shipgate_protocol::wire::StageAnnouncement as ToSchema>::schemas(schemas);
    }
}

/// The whole document, as JSON.
pub fn document() -> serde_json::Value {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    // Serializing a generated document cannot fail (no maps with non-string keys).
    serde_json::to_value(&doc).unwrap_or_default()
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", responses(
    (status = 200, description = "This OpenAPI 3.1 document.", content_type = "application/json", body = Object),
))]
pub(super) async fn serve() -> Response {
    static TEXT: OnceLock<String> = OnceLock::new();
    let text = TEXT.get_or_init(|| document().to_string());
    ([(CONTENT_TYPE, "application/json")], text.clone()).into_response()
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
                if ["parameters", "summary", "description"].contains(&method.as_str()) {
                    continue;
                }
                assert!(
                    served.contains(&(method.clone(), path.clone())),
                    "{method} {path} is documented but not served"
                );
            }
        }
    }

    /// The statuses each route's error mapping can produce, read from what
    /// the route takes: a path parameter is parsed (400 when malformed), a
    /// credential is checked (401), a query is parsed (400), a body has a
    /// cap (413), the database is read (500).
    #[test]
    fn every_status_a_route_can_send_is_documented() {
        let doc = document();
        let no_storage = ["/v1/info", "/v1/openapi.json", "/v1/log/key"];
        for (method, path, _) in super::super::routes(1) {
            let op = &doc["paths"][path][method];
            let documented = |status: &str| op["responses"][status].is_object();
            let has_query = op["parameters"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p["in"] == "query"));
            if path.contains('{') || has_query {
                assert!(documented("400"), "{method} {path}: 400 undocumented");
            }
            if op["security"].is_array() {
                assert!(documented("401"), "{method} {path}: 401 undocumented");
            }
            if method == "post" && op["requestBody"].is_object() {
                assert!(documented("413"), "{method} {path}: 413 undocumented");
            }
            if !no_storage.contains(&path) {
                assert!(documented("500"), "{method} {path}: 500 undocumented");
            }
            if op["security"][0]["ci"].is_array() {
                assert!(
                    documented("503"),
                    "{method} {path}: 503 undocumented (CI keys unreachable)"
                );
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                if !status.starts_with('2') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
        // The staging upload is the one route that can stall (408).
        let stage = &doc["paths"]["/v1/packages/{name}/versions/{version}"]["post"];
        assert!(stage["responses"]["408"].is_object());
    }

    /// Every `$ref` names a schema the document holds (a schema used only by
    /// a parameter is not collected by itself).
    #[test]
    fn every_reference_resolves() {
        fn walk(value: &serde_json::Value, doc: &serde_json::Value, seen: &mut usize) {
            match value {
                serde_json::Value::Object(map) => {
                    if let Some(target) = map.get("$ref").and_then(|r| r.as_str()) {
                        let pointer = target.strip_prefix('#').unwrap();
                        assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
                        *seen += 1;
                    }
                    map.values().for_each(|v| walk(v, doc, seen));
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, doc, seen)),
                _ => {}
            }
        }
        let doc = document();
        let mut seen = 0;
        walk(&doc, &doc, &mut seen);
        assert!(seen > 50, "{seen}");
    }

    /// The descriptions come from doc comments: none may show a rustdoc
    /// link (`[`crate::...`]`) to API users.
    #[test]
    fn descriptions_hold_no_rustdoc_links() {
        let text = document().to_string();
        assert!(!text.contains("[`"), "a rustdoc link in openapi.json");
    }

    #[test]
    #[ignore = "prints the document"]
    fn print_document() {
        println!("{}", serde_json::to_string_pretty(&document()).unwrap());
    }
}
