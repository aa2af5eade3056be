//! C2SP signed notes, checkpoints and verifier keys.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(note) = shared::note::SignedNote::parse(text) {
        // A parsed note serialises back to exactly its input.
        assert_eq!(note.to_text(), text);
        let _ = shared::checkpoint::Checkpoint::parse(&note.text);
    }
    let _ = shared::note::parse_vkey(text);
    let _ = shared::note::Cosigner::from_vkey(text);
});
