//! Progress bars, drawn on standard error only when it is a terminal.

use indicatif::{ProgressBar, ProgressStyle};

use crate::input::stderr_is_terminal;

/// A bar of `len` steps labelled `what`, or a hidden one when stderr is not a terminal.
pub(crate) fn bar(len: u64, what: &'static str) -> ProgressBar {
    if !stderr_is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what);
    bar
}
