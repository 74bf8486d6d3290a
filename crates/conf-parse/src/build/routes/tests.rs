use super::*;

#[test]
fn strtoul_like_c() {
    assert_eq!(strtoul_all("0x10"), Some(16));
    assert_eq!(strtoul_all("010"), Some(8));
    assert_eq!(strtoul_all("0"), Some(0));
    assert_eq!(strtoul_all("12a"), None);
    assert_eq!(strtoul_all(""), None);
    assert_eq!(strtoul_all("09"), None);
}
