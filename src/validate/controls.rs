//! The control-character rule: which characters a field may never hold, and
//! the problem that names one.

use std::borrow::Cow;

use super::checks::{shorten, RowCheck};
use super::ProblemKind;
use crate::mapping::Field;
use crate::values;

impl<'r> RowCheck<'_, 'r> {
    /// `text`, or a problem when it holds a control character (which is
    /// never sent): NUL, DEL, C0 and C1 controls anywhere, and tabs and line
    /// breaks in any field but the description.
    pub(super) fn without_controls(
        &mut self,
        field: Field,
        text: Cow<'r, str>,
    ) -> Option<Cow<'r, str>> {
        let breaks = field == Field::Description
            || (field == Field::Category && self.rules.mapping.categories.lists.contains(&'\n'));
        let Some((position, c)) = values::find_control(&text, breaks) else {
            return Some(text);
        };
        let visible: String = text
            .chars()
            .map(|c| {
                if values::is_forbidden_control(c, false) {
                    '\u{FFFD}'
                } else {
                    c
                }
            })
            .collect();
        let message = match c {
            '\t' | '\n' | '\r' => format!(
                "contains {} at character {position}; only the description may hold tabs and line breaks",
                values::control_name(c)
            ),
            _ => format!(
                "contains the control character {} at character {position} (shown as \u{FFFD}); \
                 such characters are never sent: remove it from the file",
                values::control_name(c)
            ),
        };
        self.problem(
            field,
            Some(&shorten(&visible)),
            ProblemKind::ControlCharacter,
            message,
        );
        None
    }
}
