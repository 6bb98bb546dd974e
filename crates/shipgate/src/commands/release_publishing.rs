//! The part of `shipgate release show` about registry targets: what the
//! archives declare, what changed since the previous released version
//! (loudly when something that runs on the installer's machine did), and
//! where publishing stands per target.

use shipgate_protocol::wire::ReleaseView;

use super::gate_ui::printable;

fn text(value: &serde_json::Value, key: &str) -> String {
    printable(value.get(key).and_then(|v| v.as_str()).unwrap_or(""))
}

pub(super) fn print(view: &ReleaseView) {
    if let Some(review) = &view.artifacts {
        outln!("archives");
        for file in &review.files {
            outln!(
                "  {}  states {} {}",
                text(file, "file_name"),
                text(file, "name"),
                text(file, "version")
            );
        }
        match &review.previous_version {
            Some(prev) => outln!("declarations changed since {}", printable(prev)),
            None => outln!("declarations (first release with archives)"),
        }
        if review.changes.is_empty() {
            outln!("  none");
        }
        for change in &review.changes {
            let loud = change.get("loud").and_then(|v| v.as_bool()) == Some(true);
            let what = format!(
                "{} {} {}{}{}",
                text(change, "change"),
                text(change, "subject").replace('_', " "),
                text(change, "key"),
                change
                    .get("before")
                    .and_then(|v| v.as_str())
                    .map(|b| format!(": was {}", printable(b)))
                    .unwrap_or_default(),
                change
                    .get("after")
                    .and_then(|v| v.as_str())
                    .map(|a| format!(": now {}", printable(a)))
                    .unwrap_or_default(),
            );
            if loud {
                outln!("! {what}  (runs on the installer's machine: read it)");
            } else {
                outln!("  {what}");
            }
        }
        if review.loud {
            outln!(
                "WARNING: this release adds or changes code that runs at install, build or interpreter start"
            );
        }
    }
    if !view.targets.is_empty() {
        outln!("registry targets");
    }
    for t in &view.targets {
        let mut line = format!(
            "  {} {}  {}",
            printable(&t.kind),
            printable(&t.registry),
            printable(&t.state)
        );
        if let Some(url) = &t.url {
            line.push_str(&format!("  {}", printable(url)));
        }
        for i in &t.integrity {
            line.push_str(&format!("  {}", printable(&i.integrity)));
        }
        if t.attempts > 0 && t.state != "published" {
            line.push_str(&format!("  (attempts: {})", t.attempts));
        }
        if t.state == "conflict" {
            outln!("! {}", line.trim_start());
        } else {
            outln!("{line}");
        }
        if let Some(error) = &t.last_error
            && t.state != "published"
        {
            outln!("    last error: {}", printable(error));
        }
    }
}
