//! The control socket's JSON lines: requests read by the init, responses read by `ctl`.
//!
//! Input: one mode byte (even: a request line, odd: a response line), then the line.
//! Invariants: no panic; every error is one non-empty line; a parsed line, rendered again,
//! is one `\n`-terminated line that parses to the same value (and a rendered request fits
//! the server's line limit); the status table of a parsed response has one row per
//! service.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rich_init::control::{self, Response};

fn one_line(what: &str, text: &str) {
    assert!(
        !text.is_empty() && !text.contains('\n'),
        "{what} is not one line: {text:?}"
    );
}

fn one_rendered_line(line: &str) {
    assert!(
        line.ends_with('\n') && line.matches('\n').count() == 1,
        "{line:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, line)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        match control::parse_request(line) {
            Ok(request) => {
                let text = control::render_request(&request);
                one_rendered_line(&text);
                assert!(text.len() <= control::MAX_LINE + 1, "{} bytes", text.len());
                match control::parse_request(text.as_bytes()) {
                    Ok(again) => assert_eq!(again, request, "{text}"),
                    Err(e) => panic!("{request:?} rendered as {text:?} is refused: {e}"),
                }
            }
            Err(e) => one_line("a request error", &e.to_string()),
        }
        return;
    }
    match control::parse_response(line) {
        Ok(response) => {
            let text = control::render_response(&response);
            one_rendered_line(&text);
            match control::parse_response(text.as_bytes()) {
                Ok(again) => assert_eq!(again, response, "{text}"),
                Err(e) => panic!("{response:?} rendered as {text:?} is refused: {e}"),
            }
            if let Response::Status(services) = &response {
                let table = control::format_status_table(services);
                let newlines = services
                    .iter()
                    .map(|s| s.name.matches('\n').count() + s.state.matches('\n').count())
                    .sum::<usize>();
                assert_eq!(table.matches('\n').count(), services.len() + 1 + newlines);
            }
        }
        Err(e) => one_line("a response error", &e.to_string()),
    }
});
