//! HTML in a description, as e-commerce platforms export it, made plain text
//! (`--html text`): tags dropped, block tags and `<br>` made line breaks,
//! list items started with `- `, entities decoded, spaces collapsed. And
//! long texts cut at a word boundary (`--long-text cut`).

/// Whether `s` holds HTML: a tag such as `<p>`, `</b>`, `<br/>` or `<!--`.
pub fn looks_like_html(s: &str) -> bool {
    let bytes = s.as_bytes();
    memchr::memchr_iter(b'<', bytes).any(|i| {
        bytes
            .get(i + 1)
            .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'/' || b == b'!')
    }) && memchr::memchr(b'>', bytes).is_some()
}

/// Tags after which the text goes on on a new line.
const BLOCKS: [&str; 20] = [
    "p",
    "div",
    "br",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "table",
    "blockquote",
    "section",
    "article",
    "header",
    "footer",
    "hr",
    "pre",
];

/// `s` as plain text.
pub fn html_to_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let Some(end) = rest.find('>') else {
                    push_text(&mut out, rest);
                    break;
                };
                let tag = &rest[1..end];
                rest = &rest[end + 1..];
                let name: String = tag
                    .trim_start_matches('/')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
                    .to_ascii_lowercase();
                if (name == "script" || name == "style") && !tag.starts_with('/') {
                    let close = format!("</{name}");
                    let lower = rest.to_ascii_lowercase();
                    rest = match lower.find(&close) {
                        Some(i) => &rest[i..],
                        None => "",
                    };
                } else if name == "li" && !tag.starts_with('/') {
                    new_line(&mut out);
                    out.push_str("- ");
                } else if BLOCKS.contains(&name.as_str()) || name == "li" {
                    new_line(&mut out);
                } else if matches!(name.as_str(), "td" | "th") {
                    space(&mut out);
                }
            }
            '&' => {
                let (decoded, used) = entity(rest);
                push_text(&mut out, &decoded);
                rest = &rest[used..];
            }
            _ => {
                let next = rest.find(['<', '&']).unwrap_or(rest.len());
                push_text(&mut out, &rest[..next]);
                rest = &rest[next..];
            }
        }
    }
    out.trim_end().to_string()
}

/// Appends text, spaces and line breaks in it collapsed to one space.
fn push_text(out: &mut String, text: &str) {
    for c in text.chars() {
        if c.is_whitespace() {
            space(out);
        } else {
            out.push(c);
        }
    }
}

fn space(out: &mut String) {
    if !out.is_empty() && !out.ends_with([' ', '\n']) {
        out.push(' ');
    }
}

fn new_line(out: &mut String) {
    while out.ends_with(' ') {
        out.pop();
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

/// The character an entity at the start of `s` stands for, and its length;
/// a lone `&` is itself.
fn entity(s: &str) -> (String, usize) {
    let Some(end) = s[1..].find(';').map(|i| i + 1).filter(|&i| i <= 12) else {
        return ("&".to_string(), 1);
    };
    let name = &s[1..end];
    let decoded = if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => num.parse::<u32>().ok(),
        };
        code.and_then(char::from_u32)
    } else {
        named(name)
    };
    match decoded {
        Some(c) => (c.to_string(), end + 1),
        None => ("&".to_string(), 1),
    }
}

fn named(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "euro" => '€',
        "pound" => '£',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "deg" => '°',
        "times" => '×',
        "aring" => 'å',
        "Aring" => 'Å',
        "oslash" => 'ø',
        "Oslash" => 'Ø',
        "aelig" => 'æ',
        "AElig" => 'Æ',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "Auml" => 'Ä',
        "Ouml" => 'Ö',
        "Uuml" => 'Ü',
        "eacute" => 'é',
        "egrave" => 'è',
        "szlig" => 'ß',
        _ => return None,
    })
}

/// `s` cut to at most `max` characters at a word boundary, ending in `…`.
pub fn cut_at_word(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let head: String = s.chars().take(max.saturating_sub(1)).collect();
    let cut = match head.rfind(char::is_whitespace) {
        Some(i) if head[..i].chars().count() >= max / 2 => &head[..i],
        _ => head.as_str(),
    };
    format!(
        "{}…",
        cut.trim_end_matches(|c: char| c.is_whitespace() || c == ',' || c == ';')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_descriptions_become_plain_text() {
        assert_eq!(html_to_text("<p>New design.</p>"), "New design.");
        assert_eq!(
            html_to_text("<p>Big enough.<p>\n<ul>\n<li>Dual handles.</li>\n<li>L 29&quot; x W 13&quot;.</li>\n</ul>"),
            "Big enough.\n- Dual handles.\n- L 29\" x W 13\"."
        );
        assert_eq!(
            html_to_text("Caf&eacute; &amp; bar&#8482;<br/>line &#x41;"),
            "Café & bar™\nline A"
        );
        assert_eq!(html_to_text("a <b>bold</b>  move"), "a bold move");
        assert_eq!(html_to_text("x<script>alert(1)</script>y"), "xy");
        assert_eq!(html_to_text("AT&T <3"), "AT&T <3");
        assert!(looks_like_html("<p>x</p>"));
        assert!(!looks_like_html("a < b and c > d"));
    }

    #[test]
    fn long_texts_are_cut_at_a_word_boundary() {
        let text = "one two three four five";
        assert_eq!(cut_at_word(text, 100), text);
        let cut = cut_at_word(text, 12);
        assert_eq!(cut, "one two…");
        assert!(cut.chars().count() <= 12);
        let word = "abcdefghijklmnop";
        assert_eq!(cut_at_word(word, 5), "abcd…");
    }
}
