//! The stage's layout: who is shown large in speaker view, how many columns make the grid's
//! tiles as large as the window allows, and which picture quality each tile needs.

/// Who is shown large in speaker view: the pinned person, else whoever speaks, else the first
/// person on the stage. Nobody while a screen is shown (the screen is large), or in the grid
/// the person chose with nobody pinned. `tiles` are everyone's tiles in join order, each with
/// whether it is a listener's (listeners are not on the stage).
pub fn featured<Id: Copy + PartialEq>(
    presenting: bool,
    grid_chosen: bool,
    pinned: Option<Id>,
    speaking: Option<Id>,
    tiles: &[(Id, bool)],
) -> Option<Id> {
    if presenting || (grid_chosen && pinned.is_none()) {
        return None;
    }
    let present = |id: &Id| tiles.iter().any(|(t, _)| t == id);
    pinned
        .filter(present)
        .or_else(|| speaking.filter(present))
        .or_else(|| tiles.iter().find(|(_, listener)| !listener).map(|(id, _)| *id))
}

/// Room the stage leaves around the grid: page margins across, top bar, controls and caption
/// down (CSS pixels).
const STAGE_MARGIN_X: f64 = 32.0;
const STAGE_MARGIN_Y: f64 = 200.0;
/// The side panel (chat, people) takes this much width when open, on windows wider than
/// [`SIDE_PANEL_FROM`]; on narrower ones it lies over the stage.
const SIDE_PANEL_PX: f64 = 364.0;
const SIDE_PANEL_FROM: f64 = 720.0;
/// The gap between tiles, and their aspect ratio.
const TILE_GAP: f64 = 12.0;
const TILE_ASPECT: f64 = 16.0 / 9.0;

/// The grid for `count` tiles in a window of `width` x `height` with the side panel open or
/// not: the number of columns and the tile width.
pub fn stage_grid(count: usize, width: f64, height: f64, panel_open: bool) -> (usize, f64) {
    let panel = if panel_open && width > SIDE_PANEL_FROM { SIDE_PANEL_PX } else { 0.0 };
    best_grid(count, width - STAGE_MARGIN_X - panel, height - STAGE_MARGIN_Y, TILE_GAP, TILE_ASPECT)
}

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
    fn speaker_view_features_the_pinned_then_the_speaker_then_the_first_on_stage() {
        // Anna (1) listens; Bruno (2) and Cleo (3) are on the stage.
        let tiles = [(1, true), (2, false), (3, false)];
        assert_eq!(featured(false, false, None, None, &tiles), Some(2), "first on the stage");
        assert_eq!(featured(false, false, None, Some(3), &tiles), Some(3), "whoever speaks");
        assert_eq!(featured(false, false, Some(2), Some(3), &tiles), Some(2), "pinned wins");
        assert_eq!(featured(false, false, Some(9), Some(3), &tiles), Some(3), "pinned left");
        assert_eq!(featured(false, true, None, Some(3), &tiles), None, "the grid was chosen");
        assert_eq!(featured(false, true, Some(3), None, &tiles), Some(3), "pinning shows large");
        assert_eq!(featured(true, false, Some(3), Some(2), &tiles), None, "a screen is large");
        assert_eq!(featured::<u32>(false, false, None, None, &[]), None, "alone");
    }

    #[test]
    fn the_side_panel_takes_its_width_only_on_wide_windows() {
        let closed = stage_grid(4, 1280.0, 800.0, false);
        let open = stage_grid(4, 1280.0, 800.0, true);
        assert!(open.1 < closed.1, "{open:?} {closed:?}");
        assert_eq!(open, best_grid(4, 1280.0 - 32.0 - 364.0, 600.0, 12.0, 16.0 / 9.0));
        // A phone: the panel lies over the stage, the tiles keep their size.
        assert_eq!(stage_grid(2, 390.0, 844.0, true), stage_grid(2, 390.0, 844.0, false));
    }

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
