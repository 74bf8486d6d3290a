#![no_main]
//! Fuzz the AgentX PDU parser: no panic on any input (a master agent's bytes are untrusted);
//! a PDU that parses claims no more bytes than given, and re-emits to bytes that parse to the
//! same PDU.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok((p, n)) = agentx::Pdu::parse(rest) {
        assert!(n <= rest.len() && n >= agentx::HEADER_LEN);
        let again = agentx::Pdu::parse(&p.emit())
            .expect("re-emitted PDU parses")
            .0;
        assert_eq!(again.body, p.body);
        assert_eq!(again.context, p.context);
        rest = &rest[n..];
    }
});
