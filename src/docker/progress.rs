//! Image transfer progress on stderr: one bar per layer on a terminal (indicatif),
//! a bounded number of plain lines otherwise, nothing with `--quiet`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::models::CreateImageInfo;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ui::Ui;

/// Layer lines printed when output is not a terminal; the rest are counted.
const MAX_LAYER_LINES: usize = 10;
/// How often a plain-text "still going" line is printed during a long transfer.
const HEARTBEAT: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Layer {
    /// Bytes of the current phase (downloading, then extracting).
    current: u64,
    total: u64,
    /// Bytes downloaded (for the plain-text summary).
    downloaded: u64,
    done: bool,
}

pub(crate) struct Progress {
    ui: Ui,
    bars: Option<(MultiProgress, HashMap<String, ProgressBar>)>,
    layers: HashMap<String, Layer>,
    /// Order in which layers were first seen (bars and lines follow it).
    order: Vec<String>,
    lines_shown: usize,
    lines_hidden: usize,
    last_line: Instant,
    /// The daemon's closing `Status: ...` (up to date, or downloaded newer image).
    outcome: Option<String>,
}

/// Statuses the daemon reports for individual layers.
fn is_layer_status(status: &str) -> bool {
    matches!(
        status,
        "Pulling fs layer"
            | "Waiting"
            | "Downloading"
            | "Verifying Checksum"
            | "Download complete"
            | "Extracting"
            | "Pull complete"
            | "Already exists"
            | "Retrying"
    ) || status.starts_with("Retrying")
}

fn human(bytes: u64) -> String {
    indicatif::HumanBytes(bytes).to_string()
}

fn short(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}

impl Progress {
    /// Starts a transfer; prints `headline` (e.g. "Pulling X from Y").
    pub(crate) fn new(ui: &Ui, headline: &str) -> Progress {
        ui.status(headline);
        let bars = ui.progress_bars().then(|| {
            (
                MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                HashMap::new(),
            )
        });
        Progress {
            ui: ui.clone(),
            bars,
            layers: HashMap::new(),
            order: Vec::new(),
            lines_shown: 0,
            lines_hidden: 0,
            last_line: Instant::now(),
            outcome: None,
        }
    }

    fn bar(&mut self, id: &str) -> Option<&ProgressBar> {
        let (multi, bars) = self.bars.as_mut()?;
        let bar = bars.entry(id.to_string()).or_insert_with(|| {
            let style = ProgressStyle::with_template(
                "  {prefix} {msg:<18} [{bar:30}] {bytes:>10}/{total_bytes:<10}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            let bar = multi.add(ProgressBar::no_length().with_style(style));
            bar.set_prefix(short(id).to_string());
            bar
        });
        Some(bar)
    }

    fn layer(&mut self, id: &str) -> &mut Layer {
        if !self.layers.contains_key(id) {
            self.order.push(id.to_string());
        }
        self.layers.entry(id.to_string()).or_default()
    }

    /// A layer moved: `phase` is what is happening ("Downloading"), with byte counts when known.
    pub(crate) fn layer_update(
        &mut self,
        id: &str,
        phase: &str,
        current: Option<u64>,
        total: Option<u64>,
    ) {
        let layer = self.layer(id);
        if let Some(total) = total.filter(|t| *t > 0) {
            layer.total = total;
        }
        if let Some(current) = current {
            layer.current = current;
            if phase.starts_with("Download") {
                layer.downloaded = current;
            }
        }
        let (cur, tot) = (layer.current, layer.total);
        if let Some(bar) = self.bar(id) {
            bar.set_message(phase.to_string());
            if tot > 0 {
                bar.set_length(tot);
                bar.set_position(cur.min(tot));
            }
            return;
        }
        self.heartbeat();
    }

    /// A layer is finished (`note`: "pull complete", "already exists", "downloaded").
    pub(crate) fn layer_done(&mut self, id: &str, note: &str) {
        let layer = self.layer(id);
        if layer.done {
            return;
        }
        layer.done = true;
        layer.downloaded = layer.downloaded.max(layer.total);
        let size = layer.total;
        if let Some(bar) = self.bar(id) {
            if size > 0 {
                bar.set_length(size);
                bar.set_position(size);
            }
            bar.finish_with_message(note.to_string());
            return;
        }
        if self.lines_shown < MAX_LAYER_LINES {
            self.lines_shown += 1;
            let size = if size > 0 {
                format!(" ({})", human(size))
            } else {
                String::new()
            };
            self.ui.status(format!("  {}: {note}{size}", short(id)));
            self.last_line = Instant::now();
        } else {
            self.lines_hidden += 1;
        }
    }

    /// In plain mode, a summary line every [`HEARTBEAT`] so long transfers are never silent.
    fn heartbeat(&mut self) {
        if self.last_line.elapsed() < HEARTBEAT {
            return;
        }
        self.last_line = Instant::now();
        let done = self.layers.values().filter(|l| l.done).count();
        let current: u64 = self
            .layers
            .values()
            .map(|l| l.current.min(l.total.max(l.current)))
            .sum();
        let total: u64 = self.layers.values().map(|l| l.total).sum();
        self.ui.status(format!(
            "  {done} of {} layers done, {} of {} downloaded",
            self.layers.len(),
            human(current),
            human(total)
        ));
    }

    /// Feeds one message of the daemon's pull stream.
    pub(crate) fn pull_message(&mut self, info: &CreateImageInfo) {
        let Some(status) = info.status.as_deref() else {
            return;
        };
        if let Some(outcome) = status.strip_prefix("Status: ") {
            self.outcome = Some(outcome.to_string());
            return;
        }
        let Some(id) = info.id.as_deref().filter(|_| is_layer_status(status)) else {
            // "Pulling from ...", "Digest: ...", "Status: ...": detail for -vv, printed
            // above the bars when they are drawn.
            match &self.bars {
                Some((multi, _)) if self.ui.verbosity() >= 2 => {
                    let _ = multi.println(status);
                }
                Some(_) => {}
                None => self.ui.verbose(2, status),
            }
            return;
        };
        match status {
            "Pull complete" => self.layer_done(id, "pull complete"),
            "Already exists" => self.layer_done(id, "already exists"),
            _ => {
                let detail = info.progress_detail.as_ref();
                let current = detail
                    .and_then(|d| d.current)
                    .and_then(|c| u64::try_from(c).ok());
                let total = detail
                    .and_then(|d| d.total)
                    .and_then(|t| u64::try_from(t).ok());
                self.layer_update(id, status, current, total);
            }
        }
    }

    /// Ends the display. Bars are replaced by one summary line (finished bars of a
    /// multi-bar display are not reliably left on screen); in plain mode, says how many
    /// layer lines were left out.
    pub(crate) fn finish(self) {
        if let Some((multi, bars)) = &self.bars {
            for bar in bars.values() {
                bar.finish_and_clear();
            }
            let _ = multi.clear();
            if !self.layers.is_empty() {
                let done = self.layers.values().filter(|l| l.done).count();
                let bytes: u64 = self.layers.values().map(|l| l.downloaded).sum();
                self.ui.status(format!(
                    "  {done} of {} layers done, {} downloaded",
                    self.layers.len(),
                    human(bytes)
                ));
            }
        } else if self.lines_hidden > 0 {
            self.ui
                .status(format!("  ... and {} more layers", self.lines_hidden));
        }
        // The daemon names the pulled location (maybe a mirror that is about to be
        // untagged); say what happened without it.
        match self.outcome.as_deref() {
            Some(o) if o.starts_with("Image is up to date") => {
                self.ui.status("  image is up to date")
            }
            Some(o) if o.starts_with("Downloaded newer image") => {
                self.ui.status("  downloaded a newer image")
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_statuses() {
        assert!(is_layer_status("Downloading"));
        assert!(is_layer_status("Retrying in 5 seconds"));
        assert!(!is_layer_status("Pulling from library/busybox"));
        assert!(!is_layer_status("Digest: sha256:abc"));
    }

    #[test]
    fn short_ids() {
        assert_eq!(short("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short("abc"), "abc");
    }
}
