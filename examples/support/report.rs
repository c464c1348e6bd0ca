//! How the example CLIs print an error: the library's message (which names no flag) with the
//! CLI's own advice, then the error's causes.

/// `ERROR: <first>` and a `  caused by: …` line for each error in `error`'s source chain (a
/// cause whose text the line above already shows is not repeated).
pub(crate) fn report(first: &str, error: &etcd_pki::Error) -> String {
    let mut out = format!("ERROR: {first}\n");
    let mut shown = first.to_owned();
    let mut cause = std::error::Error::source(error);
    while let Some(c) = cause {
        let text = c.to_string();
        if !shown.contains(&text) {
            out.push_str(&format!("  caused by: {text}\n"));
        }
        shown = text;
        cause = c.source();
    }
    out
}
