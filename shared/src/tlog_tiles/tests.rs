use super::*;
use proptest::prelude::*;

fn w(width: u8) -> TileWidth {
    TileWidth::new(width).unwrap()
}

fn hashes(level: u8, index: u64, width: Option<u8>) -> TilePath {
    TilePath::Hashes {
        level,
        index,
        width: width.map(w),
    }
}

fn entries(index: u64, width: Option<u8>) -> TilePath {
    TilePath::Entries {
        index,
        width: width.map(w),
    }
}

/// Parses the part after `tile/` and checks that it renders back identically.
fn parse_round_trip(rest: &str) -> TilePath {
    let parsed = TilePath::parse(rest).unwrap();
    assert_eq!(parsed.path(), format!("tile/{rest}"), "{rest:?}");
    parsed
}

#[test]
fn spec_index_encoding() {
    // § Merkle Tree: "index 1234067 will be encoded as x001/x234/067".
    assert_eq!(encode_index(1234067), "x001/x234/067");
    assert_eq!(
        parse_round_trip("0/x001/x234/067"),
        hashes(0, 1234067, None)
    );
    assert_eq!(
        parse_round_trip("entries/x001/x234/067"),
        entries(1234067, None)
    );
    // Index 0 is a single group.
    assert_eq!(encode_index(0), "000");
}

#[test]
fn paths_of_each_kind() {
    assert_eq!(parse_round_trip("0/000"), hashes(0, 0, None));
    assert_eq!(parse_round_trip("0/000.p/1"), hashes(0, 0, Some(1)));
    assert_eq!(parse_round_trip("1/999.p/255"), hashes(1, 999, Some(255)));
    assert_eq!(parse_round_trip("2/x001/000"), hashes(2, 1000, None));
    assert_eq!(
        parse_round_trip("63/x001/x000/000"),
        hashes(63, 1_000_000, None)
    );
    assert_eq!(parse_round_trip("entries/000"), entries(0, None));
    assert_eq!(
        parse_round_trip("entries/273.p/112"),
        entries(273, Some(112))
    );
    assert_eq!(
        parse_round_trip("entries/x018/x446/x744/x073/x709/x551/615"),
        entries(u64::MAX, None)
    );
    assert_eq!(
        parse_round_trip("7/x001/x234/067.p/10"),
        hashes(7, 1234067, Some(10))
    );
}

#[test]
fn index_encoding_boundaries() {
    for (n, s) in [
        (0, "000"),
        (7, "007"),
        (999, "999"),
        (1000, "x001/000"),
        (1001, "x001/001"),
        (999_999, "x999/999"),
        (1_000_000, "x001/x000/000"),
        (u64::MAX, "x018/x446/x744/x073/x709/x551/615"),
    ] {
        assert_eq!(encode_index(n), s);
        assert_eq!(parse_index(s), Ok(n));
    }
}

#[test]
fn non_canonical_and_malformed_paths_are_refused() {
    for bad in [
        // no index at all
        "",
        "0",
        "entries",
        "0/",
        "entries/",
        // level: leading zeros, sign, out of range, not a number
        "00/000",
        "01/000",
        "+1/000",
        "-1/000",
        "64/000",
        "255/000",
        "256/000",
        "1000/000",
        " 1/000",
        "a/000",
        "data/000",
        "entry/000",
        "Entries/000",
        // index groups: not 3 digits, missing or misplaced 'x'
        "0/0",
        "0/00",
        "0/0000",
        "0/1234",
        "0/x000",
        "0/x123",
        "0/001/234",
        "0/x001/x234",
        "0/x001/234/067",
        "0/001/x234/067",
        "0/X001/234",
        "0/xx01/234",
        "0/x01/234",
        "0/x0001/234",
        "0/x001//234",
        "0/x001/234/",
        "0//000",
        "0/+12",
        "0/-12",
        "0/ 12",
        "0/1e2",
        "0/１２３",
        // a leading x000 group is not the shortest encoding
        "0/x000/001",
        "0/x000/x001/000",
        "entries/x000/000",
        // beyond 64 bits
        "0/x018/x446/x744/x073/x709/x551/616",
        "0/x001/x000/x000/x000/x000/x000/x000/000",
        // partial widths: 0, 256, leading zeros, empty, junk, misplaced
        "0/000.p/0",
        "0/000.p/256",
        "0/000.p/1000",
        "0/000.p/007",
        "0/000.p/07",
        "0/000.p/00",
        "0/000.p/",
        "0/000.p",
        "0/000.p/+5",
        "0/000.p/5/",
        "0/000.p/5/000",
        "0/000.p/5.p/6",
        "0/000.P/5",
        "0/000.q/5",
        "0/000p/5",
        "0/x001.p/5/000",
        "0/x001.p/5",
        "entries/000.p/0",
        "entries/000.p/256",
        // the `tile/` prefix is not part of what is parsed
        "tile/0/000",
    ] {
        assert!(
            matches!(TilePath::parse(bad), Err(TileError::MalformedPath(_))),
            "{bad:?} parsed as {:?}",
            TilePath::parse(bad)
        );
    }
}

#[test]
fn all_levels_and_widths_round_trip() {
    for level in 0..=MAX_TILE_LEVEL {
        let p = hashes(level, 5, None);
        assert_eq!(TilePath::parse(&p.path()["tile/".len()..]), Ok(p));
    }
    for width in 1..=255u8 {
        for p in [hashes(3, 1234, Some(width)), entries(1234, Some(width))] {
            assert_eq!(TilePath::parse(&p.path()["tile/".len()..]), Ok(p));
        }
    }
    assert_eq!(TileWidth::new(0), None);
    assert_eq!(TileWidth::new(255).map(TileWidth::get), Some(255));
}

proptest! {
    #[test]
    fn any_path_round_trips(level in 0..=MAX_TILE_LEVEL, index: u64, width: Option<u8>, is_entries: bool) {
        let width = width.and_then(TileWidth::new);
        let p = if is_entries {
            TilePath::Entries { index, width }
        } else {
            TilePath::Hashes { level, index, width }
        };
        let path = p.path();
        prop_assert_eq!(TilePath::parse(path.strip_prefix("tile/").unwrap()), Ok(p));
    }

    #[test]
    fn fill_matches_the_spec_definition(size: u64, level in 0u8..10, offset in 0u64..3, back: bool) {
        // Probe the tiles around the right edge of the level.
        let last = if level < 8 { (size >> (8 * u32::from(level))) >> 8 } else { 0 };
        let index = if back { last.saturating_sub(offset) } else { last.saturating_add(offset) };
        prop_assert_eq!(tile_fill(size, level, index), naive_fill(size, level, index));
    }
}

/// § Merkle Tree, literally: hash `i` of tile (L, N) is the MTH of leaves
/// `[(N·256 + i)·256^L, (N·256 + i + 1)·256^L)`, present once the tree has
/// all of them.
fn naive_fill(size: u64, level: u8, index: u64) -> Option<TileFill> {
    let span = 256u128.checked_pow(u32::from(level));
    let present = (0..256u128)
        .take_while(|&i| {
            span.and_then(|span| (u128::from(index) * 256 + i + 1).checked_mul(span))
                .is_some_and(|end| end <= u128::from(size))
        })
        .count();
    match present {
        0 => None,
        256 => Some(TileFill::Full),
        n => Some(TileFill::Partial(w(u8::try_from(n).unwrap()))),
    }
}

/// All tiles of a tree as (level, index, width), level by level.
fn tiles_of(size: u64) -> Vec<(u8, u64, u16)> {
    let mut out = Vec::new();
    for level in 0..=MAX_TILE_LEVEL {
        let mut index = 0;
        while let Some(fill) = tile_fill(size, level, index) {
            out.push((level, index, fill.width()));
            index += 1;
        }
    }
    out
}

#[test]
fn spec_partial_tile_examples() {
    // § Partial Tiles: "a tree of size 70,000 will be represented by 273 full
    // level 0 tiles, one partial level 0 tile of width 112, one full level 1
    // tile, one partial level 1 tile of width 17, and one partial level 2
    // tile of width 1."
    let tiles = tiles_of(70_000);
    let level0: Vec<_> = tiles.iter().filter(|t| t.0 == 0).collect();
    assert_eq!(level0.len(), 274);
    assert!(level0[..273].iter().all(|t| t.2 == 256));
    assert_eq!(*level0[273], (0, 273, 112));
    let above: Vec<_> = tiles.iter().filter(|t| t.0 > 0).copied().collect();
    assert_eq!(above, [(1, 0, 256), (1, 1, 17), (2, 0, 1)]);
    // "a tree of size 256 will be represented by a full level 0 tile and a
    // partial level 1 tile of width 1."
    assert_eq!(tiles_of(256), [(0, 0, 256), (1, 0, 1)]);
}

#[test]
fn fill_at_small_and_boundary_sizes() {
    let full = Some(TileFill::Full);
    let part = |n| Some(TileFill::Partial(w(n)));
    // (size, level, index, expected)
    for (size, level, index, expected) in [
        (0, 0, 0, None),
        (0, 1, 0, None),
        (1, 0, 0, part(1)),
        (1, 0, 1, None),
        (1, 1, 0, None),
        (255, 0, 0, part(255)),
        (255, 1, 0, None),
        (256, 0, 0, full),
        (256, 0, 1, None),
        (256, 1, 0, part(1)),
        (257, 0, 0, full),
        (257, 0, 1, part(1)),
        (257, 1, 0, part(1)),
        (65_535, 0, 255, part(255)),
        (65_535, 1, 0, part(255)),
        (65_535, 2, 0, None),
        (65_536, 0, 255, full),
        (65_536, 0, 256, None),
        (65_536, 1, 0, full),
        (65_536, 1, 1, None),
        (65_536, 2, 0, part(1)),
        (65_537, 0, 256, part(1)),
        (65_537, 0, 257, None),
        (65_537, 1, 0, full),
        (65_537, 1, 1, None),
        (65_537, 2, 0, part(1)),
        (u64::MAX, 0, u64::MAX >> 8, part(255)),
        (u64::MAX, 7, 0, part(255)),
        (u64::MAX, 8, 0, None),
        (u64::MAX, 63, 0, None),
        (u64::MAX, 0, u64::MAX, None),
    ] {
        assert_eq!(
            tile_fill(size, level, index),
            expected,
            "size {size} tile {level}/{index}"
        );
        if level == 0 {
            assert_eq!(entry_bundle_fill(size, index), expected);
        }
    }
    assert_eq!(tiles_of(0), []);
    assert_eq!(tiles_of(1), [(0, 0, 1)]);
    assert_eq!(tiles_of(255), [(0, 0, 255)]);
    assert_eq!(tiles_of(257), [(0, 0, 256), (0, 1, 1), (1, 0, 1)]);
}

#[test]
fn width_in_follows_the_checkpoint() {
    // Size 257: level-0 tile 0 full, tile 1 one hash, level-1 tile 0 one hash.
    for (path, expected) in [
        (hashes(0, 0, None), Some(256)),
        (hashes(0, 0, Some(1)), Some(1)),
        (hashes(0, 0, Some(255)), Some(255)),
        (hashes(0, 1, Some(1)), Some(1)),
        (hashes(0, 1, Some(2)), None),
        (hashes(0, 1, None), None),
        (hashes(0, 2, Some(1)), None),
        (hashes(1, 0, Some(1)), Some(1)),
        (hashes(1, 0, None), None),
        (hashes(2, 0, Some(1)), None),
        (hashes(63, 0, Some(1)), None),
        (entries(0, None), Some(256)),
        (entries(0, Some(17)), Some(17)),
        (entries(1, Some(1)), Some(1)),
        (entries(1, Some(2)), None),
        (entries(1, None), None),
    ] {
        assert_eq!(path.width_in(257), expected, "{}", path.path());
    }
    assert_eq!(entries(0, Some(1)).width_in(0), None);
}

#[test]
fn entry_bundle_round_trip() {
    let big = vec![0xab; 65_535];
    let list: Vec<&[u8]> = vec![b"hello", b"", &big, b"\x00\x01"];
    let bundle = encode_entry_bundle(list.iter().copied()).unwrap();
    assert_eq!(&bundle[..7], b"\x00\x05hello");
    assert_eq!(&bundle[7..9], b"\x00\x00");
    assert_eq!(&bundle[9..11], b"\xff\xff");
    assert_eq!(bundle.len(), 2 * 4 + 5 + 65_535 + 2);
    assert_eq!(decode_entry_bundle(&bundle).unwrap(), list);

    let full: Vec<Vec<u8>> = (0..256u16).map(|i| i.to_be_bytes().to_vec()).collect();
    let bundle = encode_entry_bundle(full.iter().map(Vec::as_slice)).unwrap();
    assert_eq!(bundle.len(), 256 * 4);
    assert_eq!(decode_entry_bundle(&bundle).unwrap(), full);
}

#[test]
fn entry_bundle_limits() {
    let too_big = vec![0; 65_536];
    assert_eq!(
        encode_entry_bundle([b"ok".as_slice(), &too_big]),
        Err(TileError::EntryTooLarge {
            index: 1,
            len: 65_536
        })
    );
    assert_eq!(encode_entry_bundle([]), Err(TileError::BundleSize(0)));
    let one = [b"x".as_slice()];
    assert_eq!(
        encode_entry_bundle(one.iter().copied().cycle().take(257)),
        Err(TileError::BundleSize(257))
    );
    assert_eq!(decode_entry_bundle(b""), Err(TileError::BundleSize(0)));
    assert_eq!(
        decode_entry_bundle(&b"\x00\x00".repeat(257)),
        Err(TileError::BundleSize(257))
    );
}

#[test]
fn truncated_entry_bundles_are_refused() {
    let bundle = encode_entry_bundle([b"abc".as_slice(), b"de"]).unwrap();
    // Every proper prefix that does not end on an entry boundary fails.
    for cut in 1..bundle.len() {
        let result = decode_entry_bundle(&bundle[..cut]);
        if cut == 5 {
            assert_eq!(result.unwrap(), [b"abc"]);
        } else {
            assert!(
                matches!(result, Err(TileError::TruncatedBundle { .. })),
                "cut at {cut}: {result:?}"
            );
        }
    }
    assert_eq!(
        decode_entry_bundle(&bundle[..6]),
        Err(TileError::TruncatedBundle {
            index: 1,
            offset: 5
        })
    );
    // A trailing byte is the start of a truncated entry.
    let mut long = bundle;
    long.push(0);
    assert_eq!(
        decode_entry_bundle(&long),
        Err(TileError::TruncatedBundle {
            index: 2,
            offset: 9
        })
    );
    // A length that claims more than is there.
    assert_eq!(
        decode_entry_bundle(b"\x00\x04abc"),
        Err(TileError::TruncatedBundle {
            index: 0,
            offset: 0
        })
    );
}
