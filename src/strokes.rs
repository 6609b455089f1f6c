//! Pen strokes → the 28×28 image the network sees, the same whatever the drawing's
//! size, position, pad size, pixel ratio or pen.
//!
//! The pads keep what was drawn as centre lines (polylines in any coordinates). Here
//! they are box-normalised like MNIST (the ink's longer side 20 px, centre of mass
//! at (14, 14)) and only then inked, at one fixed [`PEN`] width. A digit drawn small
//! in a corner of a phone-sized pad and the same digit filling a desktop pad give
//! the same image, up to where the pointer's samples fall. Rasters (a scan, a
//! photo, a typed sample) go through [`crate::preprocess::raster_to_mnist`] instead.

use crate::model::{IMAGE_PIXELS, IMAGE_SIDE};
use crate::preprocess::PreprocessError;

/// One stroke: the pen's path, in any unit (x right, y down).
pub type Stroke = Vec<[f32; 2]>;

/// Pen width in pixels of the 28×28 field: an MNIST-like stroke (chosen by
/// measurement, see the README's "Drawn digits" section).
pub const PEN: f32 = 2.2;
/// Longer side of the ink's box inside the 28×28 field (MNIST's convention).
const BOX: f32 = 20.0;
/// Most points a drawing may hold (a minute of drawing at 240 Hz is far fewer).
const MAX_POINTS: usize = 100_000;

/// Strokes from flat arrays: `xy` holds x0, y0, x1, y1, … and `ends[k]` is the
/// number of points up to and including stroke `k` (increasing, the last one
/// being `xy.len() / 2`).
pub fn from_flat(xy: &[f32], ends: &[u32]) -> Result<Vec<Stroke>, PreprocessError> {
    let bad = |why: String| Err(PreprocessError::BadStrokes(why));
    if !xy.len().is_multiple_of(2) {
        return bad(format!("{} coordinates is not a whole number of (x, y) points", xy.len()));
    }
    let points = xy.len() / 2;
    if points > MAX_POINTS {
        return bad(format!("{points} points is more than the {MAX_POINTS} a drawing may hold"));
    }
    if let Some(index) = xy.iter().position(|v| !v.is_finite()) {
        return Err(PreprocessError::NotFinite { index });
    }
    if ends.last().map(|&e| e as usize) != Some(points) && !(points == 0 && ends.is_empty()) {
        return bad(format!("the stroke ends {ends:?} do not end at the {points} points given"));
    }
    let mut strokes = Vec::with_capacity(ends.len());
    let mut start = 0;
    for &end in ends {
        let end = end as usize;
        if end <= start {
            return bad(format!("the stroke ends {ends:?} are not increasing"));
        }
        strokes.push(xy[2 * start..2 * end].chunks_exact(2).map(|p| [p[0], p[1]]).collect());
        start = end;
    }
    Ok(strokes)
}

/// Ink `strokes` at `pen` pixels wide after box normalisation: ink 1, paper 0.
pub fn render(strokes: &[Stroke], pen: f32) -> Result<[f32; IMAGE_PIXELS], PreprocessError> {
    let mut points = strokes.iter().flatten();
    let first = *points.next().ok_or(PreprocessError::NoInk)?;
    let (lo, hi) = points.fold((first, first), |(lo, hi), p| {
        ([lo[0].min(p[0]), lo[1].min(p[1])], [hi[0].max(p[0]), hi[1].max(p[1])])
    });
    let extent = (hi[0] - lo[0]).max(hi[1] - lo[1]);
    // A single tap has no extent: it stays a dot of the pen's width.
    let scale = if extent > 0.0 { (BOX - pen) / extent } else { 0.0 };
    let mid = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
    let centre = IMAGE_SIDE as f32 / 2.0;
    let place = |offset: [f32; 2]| -> Vec<Stroke> {
        strokes
            .iter()
            .map(|s| s.iter().map(|p| [(p[0] - mid[0]) * scale + centre + offset[0], (p[1] - mid[1]) * scale + centre + offset[1]]).collect())
            .collect()
    };
    // Box-centred first, then moved so the centre of mass lands on (14, 14).
    let boxed = ink(&place([0.0, 0.0]), pen);
    let (cx, cy) = crate::preprocess::centre_of_mass(&boxed, IMAGE_SIDE);
    Ok(ink(&place([centre - cx, centre - cy]), pen))
}

/// [`from_flat`] then [`render`] at the shipped [`PEN`]: what the page's pads send.
pub fn strokes_to_mnist(xy: &[f32], ends: &[u32]) -> Result<[f32; IMAGE_PIXELS], PreprocessError> {
    render(&from_flat(xy, ends)?, PEN)
}

/// Anti-aliased ink: a pixel's value is how far its centre lies inside the pen's
/// outline (round caps and joins), clamped to [0, 1].
fn ink(strokes: &[Stroke], pen: f32) -> [f32; IMAGE_PIXELS] {
    let mut out = [0.0f32; IMAGE_PIXELS];
    let reach = pen / 2.0 + 0.5;
    for stroke in strokes {
        let segments = stroke.windows(2).map(|w| (w[0], w[1])).chain((stroke.len() == 1).then(|| (stroke[0], stroke[0])));
        for (a, b) in segments {
            // Only the pixels the segment's outline can touch.
            let x0 = (a[0].min(b[0]) - reach).floor().max(0.0) as usize;
            let y0 = (a[1].min(b[1]) - reach).floor().max(0.0) as usize;
            let x1 = ((a[0].max(b[0]) + reach).ceil().max(0.0) as usize).min(IMAGE_SIDE);
            let y1 = ((a[1].max(b[1]) + reach).ceil().max(0.0) as usize).min(IMAGE_SIDE);
            for y in y0..y1 {
                for x in x0..x1 {
                    let d = segment_distance([x as f32 + 0.5, y as f32 + 0.5], a, b);
                    let v = &mut out[y * IMAGE_SIDE + x];
                    *v = v.max((reach - d).clamp(0.0, 1.0));
                }
            }
        }
    }
    out
}

fn segment_distance(p: [f32; 2], a: [f32; 2], b: [f32; 2]) -> f32 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 { (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
    let (ex, ey) = (a[0] + t * dx - p[0], a[1] + t * dy - p[1]);
    (ex * ex + ey * ey).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seven() -> Vec<Stroke> {
        vec![vec![[10.0, 10.0], [90.0, 10.0], [40.0, 110.0]], vec![[30.0, 60.0], [70.0, 60.0]]]
    }

    fn moved(strokes: &[Stroke], scale: f32, dx: f32, dy: f32) -> Vec<Stroke> {
        strokes.iter().map(|s| s.iter().map(|p| [p[0] * scale + dx, p[1] * scale + dy]).collect()).collect()
    }

    #[test]
    fn size_and_position_do_not_change_the_image() {
        let full = render(&seven(), PEN).unwrap();
        for (scale, dx, dy) in [(0.25, 3.0, 170.0), (0.45, 120.0, 7.5), (3.0, -40.0, 0.0)] {
            let other = render(&moved(&seven(), scale, dx, dy), PEN).unwrap();
            let worst = full.iter().zip(&other).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(worst < 1e-4, "scale {scale}: pixels differ by {worst}");
        }
    }

    #[test]
    fn a_vertical_bar_is_20_px_tall_pen_wide_and_centred() {
        // Centre line 20 − PEN long: the ink (round caps) spans rows 4‥24.
        let img = render(&[vec![[5.0, 0.0], [5.0, 50.0]]], PEN).unwrap();
        let column = |x: usize| (0..IMAGE_SIDE).map(|y| img[y * IMAGE_SIDE + x]).collect::<Vec<_>>();
        // Centre line at x = 14: pixel centres 13.5 and 14.5 are 0.5 away → full ink;
        // 12.5 and 15.5 are 1.5 away → 1.6 − 1.5 = 0.1.
        assert_eq!(column(13)[14], 1.0);
        assert_eq!(column(14)[14], 1.0);
        assert!((column(12)[14] - 0.1).abs() < 1e-5 && (column(15)[14] - 0.1).abs() < 1e-5);
        assert_eq!(column(11)[14], 0.0);
        let rows: Vec<usize> = (0..IMAGE_SIDE).filter(|&y| img[y * IMAGE_SIDE + 14] > 0.0).collect();
        assert_eq!((rows[0], *rows.last().unwrap()), (4, 23));
    }

    #[test]
    fn a_tap_is_a_dot_of_the_pen() {
        let img = render(&[vec![[100.0, 100.0]]], 2.0).unwrap();
        // Centre (14, 14): the four pixels around it are 0.71 away → 1.5 − 0.71 = 0.79.
        let v = img[13 * IMAGE_SIDE + 13];
        assert!((v - (1.5 - 0.5f32.sqrt())).abs() < 1e-5, "{v}");
        assert_eq!(img.iter().filter(|&&v| v > 0.0).count(), 4);
    }

    #[test]
    fn flat_arrays_are_checked() {
        assert_eq!(from_flat(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[1, 3]).unwrap(), vec![vec![[1.0, 2.0]], vec![[3.0, 4.0], [5.0, 6.0]]]);
        assert_eq!(strokes_to_mnist(&[], &[]), Err(PreprocessError::NoInk));
        assert_eq!(from_flat(&[1.0, f32::NAN], &[1]), Err(PreprocessError::NotFinite { index: 1 }));
        let err = |xy: &[f32], ends: &[u32]| from_flat(xy, ends).unwrap_err().to_string();
        assert_eq!(err(&[1.0, 2.0, 3.0], &[1]), "the strokes are invalid: 3 coordinates is not a whole number of (x, y) points");
        assert_eq!(err(&[1.0, 2.0, 3.0, 4.0], &[1]), "the strokes are invalid: the stroke ends [1] do not end at the 2 points given");
        assert_eq!(err(&[1.0, 2.0, 3.0, 4.0], &[2, 2]), "the strokes are invalid: the stroke ends [2, 2] are not increasing");
    }
}
