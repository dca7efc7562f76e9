//! Sizing the grid: how many columns make the tiles as large as the space allows.

/// The grid for `count` tiles of aspect ratio `aspect` (width / height) in a `width` x `height`
/// area with `gap` between tiles: the number of columns and the tile width, chosen so the tiles
/// are as large as possible while all of them fit.
pub fn best_grid(count: usize, width: f64, height: f64, gap: f64, aspect: f64) -> (usize, f64) {
    if count == 0 || width <= 0.0 || height <= 0.0 || aspect <= 0.0 {
        return (1, width.max(0.0));
    }
    let mut best = (1, 0.0);
    for columns in 1..=count {
        let rows = count.div_ceil(columns);
        let by_width = (width - gap * (columns - 1) as f64) / columns as f64;
        let by_height = (height - gap * (rows - 1) as f64) / rows as f64 * aspect;
        let tile = by_width.min(by_height);
        if tile > best.1 + 0.5 {
            best = (columns, tile);
        }
    }
    (best.0, best.1.max(0.0).floor())
}

/// Tiles narrower than this (CSS pixels) show another participant's video well enough from the
/// relay's small simulcast layer (a quarter of the pixels of the large one).
pub const SMALL_TILE_PX: f64 = 360.0;

/// The picture quality a tile needs: the featured (large) tile of speaker view and large grid
/// tiles get the best layer; the filmstrip and small grid tiles get the small one.
pub fn wanted_quality(featured: Option<bool>, grid_tile_px: f64) -> protocol::VideoQuality {
    let large = match featured {
        Some(is_featured) => is_featured,
        None => grid_tile_px >= SMALL_TILE_PX,
    };
    if large { protocol::VideoQuality::High } else { protocol::VideoQuality::Low }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn tiles_ask_for_the_quality_their_size_needs() {
        use protocol::VideoQuality::{High, Low};
        // Speaker view: only the featured tile is large.
        assert_eq!(wanted_quality(Some(true), 0.0), High);
        assert_eq!(wanted_quality(Some(false), 900.0), Low);
        // Grid: by tile width.
        assert_eq!(wanted_quality(None, 640.0), High);
        assert_eq!(wanted_quality(None, 200.0), Low);
        // Twelve people on a laptop screen get small tiles.
        let (_, tile) = best_grid(12, 1280.0 - 32.0, 800.0 - 200.0, 12.0, 16.0 / 9.0);
        assert_eq!(wanted_quality(None, tile), Low);
        let (_, tile) = best_grid(3, 1280.0 - 32.0, 800.0 - 200.0, 12.0, 16.0 / 9.0);
        assert_eq!(wanted_quality(None, tile), High);
    }

    const WIDE: f64 = 16.0 / 9.0;

    #[test]
    fn four_on_a_laptop_screen_make_two_by_two() {
        let (columns, tile) = best_grid(4, 1248.0, 500.0, 12.0, WIDE);
        assert_eq!(columns, 2);
        assert!(tile > 400.0, "{tile}");
    }

    #[test]
    fn one_fills_the_space_and_phones_stack() {
        assert_eq!(best_grid(1, 1200.0, 600.0, 12.0, WIDE).0, 1);
        assert_eq!(best_grid(3, 374.0, 640.0, 12.0, WIDE).0, 1);
        assert_eq!(best_grid(2, 1248.0, 500.0, 12.0, WIDE).0, 2);
    }

    #[test]
    fn a_class_of_thirty_gets_many_columns_and_still_fits() {
        let (columns, tile) = best_grid(30, 1248.0, 560.0, 8.0, WIDE);
        let rows = 30usize.div_ceil(columns);
        assert!(columns >= 5);
        assert!(rows as f64 * (tile / WIDE) + (rows - 1) as f64 * 8.0 <= 560.0 + 1.0);
    }

    #[test]
    fn degenerate_sizes_do_not_panic() {
        assert_eq!(best_grid(0, 100.0, 100.0, 8.0, WIDE), (1, 100.0));
        assert_eq!(best_grid(3, 0.0, 0.0, 8.0, WIDE).0, 1);
        assert_eq!(best_grid(3, 10.0, 10.0, 80.0, WIDE).1, 0.0);
    }
}
