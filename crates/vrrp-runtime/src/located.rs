//! [`Located`]: text that names a place in the configuration (`file:line`), for messages.

use std::fmt;

/// Text naming where something was configured (`file:line`, or a located message). Shown in
/// messages, never compared: two configurations that differ only in where things are written
/// (a comment added above, a file split) plan the same (see [`crate::plan`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct Located(pub String);

impl PartialEq for Located {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Eq for Located {}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Located;

    // Proves a location never makes two specs differ, and is shown as written.
    #[test]
    fn locations_compare_equal() {
        assert_eq!(Located("a.conf:1".into()), Located("b.conf:9".into()));
        assert_eq!(Located("a.conf:1".into()).to_string(), "a.conf:1");
    }
}
