//! Print model struct sizes (for memory tuning).
fn main() {
    use conf_parse::*;
    use std::mem::size_of;
    println!(
        "Span {} Loc {} Stmt {}",
        size_of::<Span>(),
        size_of::<Loc>(),
        size_of::<Stmt>()
    );
    println!(
        "VrrpInstance {} IpAddress {}",
        size_of::<VrrpInstance>(),
        size_of::<IpAddress>()
    );
    println!(
        "VirtualServer {} RealServer {} Checker {} CheckerCommon {} CheckerKind {} Script {}",
        size_of::<VirtualServer>(),
        size_of::<RealServer>(),
        size_of::<Checker>(),
        size_of::<CheckerCommon>(),
        size_of::<CheckerKind>(),
        size_of::<Script>()
    );
}
