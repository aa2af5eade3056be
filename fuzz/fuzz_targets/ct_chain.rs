//! An RFC 6962 add-chain / add-pre-chain submission: the input is cut into
//! certificates at 0xFF 0x00 0xFF separators.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let chain: Vec<Vec<u8>> = split(data).map(<[u8]>::to_vec).collect();
    let roots = chain.last().cloned().into_iter().collect::<Vec<_>>();
    let _ = shared::ct::accept_chain(&chain, &roots, false);
    let _ = shared::ct::accept_chain(&chain, &roots, true);
});

fn split(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.windows(3).position(|w| w == [0xFF, 0x00, 0xFF]) {
            Some(at) => {
                let (head, tail) = rest.split_at(at);
                rest = &tail[3..];
                Some(head)
            }
            None => Some(std::mem::take(&mut rest)),
        }
    })
}
