//! The one font every chart uses, compiled into the binary: Noto Sans regular and
//! bold from the `ttf-noto-sans` crate (Apache-2.0, ~200 KB each), registered with
//! plotters' `ab_glyph` text renderer. The load generator runs in a distroless
//! image with no fonts and no fontconfig, so charts must never look for system fonts.

use std::sync::OnceLock;

use plotters::style::{register_font, FontStyle};

use super::ReportError;

/// Font family name the charts ask for.
pub const FAMILY: &str = "sans-serif";

/// Registers the embedded font (once per process; later calls return the first
/// outcome).
pub fn register() -> Result<(), ReportError> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        let regular = register_font(FAMILY, FontStyle::Normal, ttf_noto_sans::REGULAR).is_ok();
        let bold = register_font(FAMILY, FontStyle::Bold, ttf_noto_sans::BOLD).is_ok();
        regular && bold
    });
    if ok {
        Ok(())
    } else {
        Err(ReportError::Font)
    }
}
