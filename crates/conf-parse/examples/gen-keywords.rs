//! Writes `docs/keywords.md` from the keyword registry.
//!
//! ```sh
//! cargo run -p conf-parse --example gen-keywords
//! ```

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/keywords.md");
    if let Err(e) = std::fs::write(&root, conf_parse::registry::keywords_md()) {
        eprintln!("gen-keywords: writing {}: {e}", root.display());
        std::process::exit(1);
    }
    println!("wrote {}", root.display());
}
