//! UI strings (filled in by the i18n work).
