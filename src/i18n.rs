//! UI strings in the 31 languages of spec 001 (en-US is the source and the fallback).
//!
//! One `const` table per language (one string, texts in `Key` order), found by its tag.
//! Native builds (tests, the table exporter) carry all 31. The wasm widget carries en-US
//! only: the other 30 tables (11 KB of the wasm's gzip size) are files next to the widget
//! (`i18n/<tag>.txt`, written by `examples/i18n_tables.rs` at build time) that the driver
//! loads when a language is first needed and hands to [`install`]; until then [`ready`] is
//! false and the view keeps showing the language it has.
#![cfg_attr(target_arch = "wasm32", allow(dead_code))] // the 30 tables the wasm leaves out

use std::cell::RefCell;

/// A UI string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// "Open chat" (launcher button label).
    OpenChat,
    /// "Close chat".
    CloseChat,
    /// "Minimize chat window".
    Minimize,
    /// "Chat window" (dialog label).
    ChatWindow,
    /// "Write a message…".
    MessagePlaceholder,
    /// "Message" (textarea accessible label).
    MessageLabel,
    /// "Send".
    Send,
    /// "Attach a file".
    Attach,
    /// "Sending…".
    Sending,
    /// "Sent".
    Sent,
    /// "Not delivered".
    NotDelivered,
    /// "Retry".
    Retry,
    /// "We're online".
    Online,
    /// "We're away — leave a message and we'll reply soon".
    Away,
    /// "Connecting…".
    Connecting,
    /// "Connection lost. Reconnecting…".
    Reconnecting,
    /// "Hi! How can we help you today?".
    Welcome,
    /// "Conversation started".
    ConversationStarted,
    /// "Conversation marked as solved".
    ConversationSolved,
    /// "Conversation closed".
    ConversationClosed,
    /// "New conversation".
    NewConversation,
    /// "Your conversations".
    Conversations,
    /// "Back to conversations".
    BackToConversations,
    /// "You".
    You,
    /// "Agent".
    Agent,
    /// "New message".
    NewMessage,
    /// "Unread messages".
    UnreadMessages,
    /// "This file is too large.".
    FileTooLarge,
    /// "This file type isn't allowed.".
    FileTypeNotAllowed,
    /// "Download".
    Download,
    /// "Open" (conversation status).
    StatusOpen,
    /// "Solved" (conversation status).
    StatusSolved,
    /// "Closed" (conversation status).
    StatusClosed,
    /// "Jump to latest messages".
    JumpToLatest,
    /// "Uploading…".
    Uploading,
    /// "Drop a file to attach it".
    DropFileHere,
    /// "No messages yet".
    NoMessagesYet,
    /// "Loading earlier messages…" (polite status while an older page loads).
    LoadingEarlier,
}

/// Number of keys.
const N: usize = 38;

impl Key {
    /// Every key, in declaration order (`Key::ALL[i] as usize == i`).
    pub const ALL: [Key; N] = [
        Key::OpenChat,
        Key::CloseChat,
        Key::Minimize,
        Key::ChatWindow,
        Key::MessagePlaceholder,
        Key::MessageLabel,
        Key::Send,
        Key::Attach,
        Key::Sending,
        Key::Sent,
        Key::NotDelivered,
        Key::Retry,
        Key::Online,
        Key::Away,
        Key::Connecting,
        Key::Reconnecting,
        Key::Welcome,
        Key::ConversationStarted,
        Key::ConversationSolved,
        Key::ConversationClosed,
        Key::NewConversation,
        Key::Conversations,
        Key::BackToConversations,
        Key::You,
        Key::Agent,
        Key::NewMessage,
        Key::UnreadMessages,
        Key::FileTooLarge,
        Key::FileTypeNotAllowed,
        Key::Download,
        Key::StatusOpen,
        Key::StatusSolved,
        Key::StatusClosed,
        Key::JumpToLatest,
        Key::Uploading,
        Key::DropFileHere,
        Key::NoMessagesYet,
        Key::LoadingEarlier,
    ];
}

/// Returns the text of `key` in `lang` (one of the 31 tags; anything else → en-US; a
/// table not loaded yet → en-US).
pub fn text(lang: &str, key: Key) -> &'static str {
    table(lang).split(SEP).nth(key as usize).unwrap_or_default()
}

/// True when `lang`'s texts are at hand: built in, installed, or an unknown tag (which
/// shows en-US).
pub fn ready(lang: &str) -> bool {
    match index(lang) {
        Some(i) => !TABLES[i].is_empty() || LOADED.with(|l| l.borrow()[i].is_some()),
        None => true,
    }
}

/// Identifies the table layout this build expects (the keys, in order, and the English
/// texts): a table file starts with it, in 16 hex digits and a newline, so a tab still open
/// on an older build never installs a newer build's table with keys in other places.
pub const FORMAT: u64 = fnv1a(EN_US);

const fn fnv1a(s: &str) -> u64 {
    let b = s.as_bytes();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < b.len() {
        h ^= b[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

/// Installs a table loaded at run time (the text of `i18n/<lang>.txt`: [`FORMAT`] in hex,
/// a newline, the packed table). Returns false, and installs nothing, for an unknown tag, a
/// table of another layout, or a text that is not a table of every key.
pub fn install(lang: &str, mut file: String) -> bool {
    let Some(i) = index(lang) else { return false };
    let format = file.get(..16).and_then(|h| u64::from_str_radix(h, 16).ok());
    if format != Some(FORMAT) || file.get(16..17) != Some("\n") {
        return false;
    }
    let packed = file.split_off(17);
    if !is_table(&packed) {
        return false;
    }
    if !ready(lang) {
        // At most one leak per language (30 in all, ~1 KB each): tables live as long as the page.
        let packed: &'static str = Box::leak(packed.into_boxed_str());
        LOADED.with(|l| l.borrow_mut()[i] = Some(packed));
    }
    true
}

/// The tags whose tables are not built into the wasm widget, with the content of their
/// `i18n/<tag>.txt` (see [`install`]). Native builds only: they carry every table.
#[cfg(not(target_arch = "wasm32"))]
pub fn loadable_tables() -> impl Iterator<Item = (&'static str, String)> {
    TAGS.iter()
        .zip(ALL_TABLES)
        .filter(|(tag, _)| **tag != "en-US")
        .map(|(tag, t)| (*tag, format!("{FORMAT:016x}\n{t}")))
}

/// Whether `packed` has exactly one non-blank text per key, each followed by [`SEP`].
fn is_table(packed: &str) -> bool {
    packed.ends_with(SEP)
        && packed.matches(SEP).count() == N
        && packed.split(SEP).take(N).all(|t| !t.trim().is_empty())
}

thread_local! {
    /// Tables installed at run time, by the index of their tag in [`TAGS`].
    static LOADED: RefCell<[Option<&'static str>; 31]> = const { RefCell::new([None; 31]) };
}

fn index(lang: &str) -> Option<usize> {
    TAGS.iter().position(|tag| *tag == lang)
}

/// True for right-to-left languages (ar-AE).
pub fn is_rtl(lang: &str) -> bool {
    lang == "ar-AE"
}

/// BCP 47 tag for the HTML `lang` attribute and Intl formatting (e.g. "es-LA" → "es-419",
/// "sr-Latn" → "sr-Latn-RS", "zh-Hans" → "zh-Hans", others unchanged; unknown → "en-US").
pub fn html_lang(lang: &str) -> &'static str {
    match lang {
        "es-LA" => "es-419",
        "sr-Latn" => "sr-Latn-RS",
        _ => TAGS.iter().find(|tag| **tag == lang).copied().unwrap_or("en-US"),
    }
}

/// The 31 tags of spec 001, in the order of [`TABLES`].
const TAGS: [&str; 31] = [
    "ar-AE", "bs-BA", "da-DK", "de-DE", "el-GR", "en-US", "es-ES", "es-LA", "fr-FR", "hr-HR", "hu-HU", "it-IT", "ja-JP",
    "ko-KR", "lt-LT", "lv-LV", "pl-PL", "pt-BR", "pt-PT", "ro-RO", "ru-RU", "sl-SI", "sq-AL", "sr-Latn", "sv-SE", "th-TH",
    "tr-TR", "uk-UA", "zh-Hans", "zh-Hant", "zh-TW",
];

/// The table of each tag of [`TAGS`] (a lookup, not a `match` of 31 string comparisons).
const ALL_TABLES: [&str; 31] = [
    AR_AE, BS_BA, DA_DK, DE_DE, EL_GR, EN_US, ES_ES, ES_LA, FR_FR, HR_HR, HU_HU, IT_IT, JA_JP, KO_KR, LT_LT, LV_LV, PL_PL,
    PT_BR, PT_PT, RO_RO, RU_RU, SL_SI, SQ_AL, SR_LATN, SV_SE, TH_TH, TR_TR, UK_UA, ZH_HANS, ZH_HANT, ZH_TW,
];

/// The tables built in: all of them natively, en-US alone (index 5) in the wasm widget.
#[cfg(not(target_arch = "wasm32"))]
const TABLES: [&str; 31] = ALL_TABLES;
#[cfg(target_arch = "wasm32")]
const TABLES: [&str; 31] = {
    let mut t = [""; 31];
    t[5] = EN_US;
    t
};

/// The table of `lang`; en-US for anything unknown or not loaded yet.
fn table(lang: &str) -> &'static str {
    match index(lang) {
        Some(i) if !TABLES[i].is_empty() => TABLES[i],
        Some(i) => LOADED.with(|l| l.borrow()[i]).unwrap_or(EN_US),
        None => EN_US,
    }
}

/// Separates (and ends) the texts of a table; no text contains it.
const SEP: char = '\u{1f}';

/// A table is one string holding its texts in `Key` order, each followed by [`SEP`]: one
/// (pointer, length) per language instead of one per text keeps 9 KB of poorly compressible
/// pointers out of the wasm. `text` finds the n-th part (the tables are about 1 KB each).
macro_rules! table {
    ($($text:literal),* $(,)?) => {
        concat!($($text, "\u{1f}"),*)
    };
}

// Each table lists the keys in `Key` order:
// OpenChat, CloseChat, Minimize, ChatWindow, MessagePlaceholder, MessageLabel, Send, Attach,
// Sending, Sent, NotDelivered, Retry, Online, Away, Connecting, Reconnecting, Welcome,
// ConversationStarted, ConversationSolved, ConversationClosed, NewConversation, Conversations,
// BackToConversations, You, Agent, NewMessage, UnreadMessages, FileTooLarge,
// FileTypeNotAllowed, Download, StatusOpen, StatusSolved, StatusClosed, JumpToLatest,
// Uploading, DropFileHere, NoMessagesYet, LoadingEarlier.

const EN_US: &str = table![
    "Open chat",
    "Close chat",
    "Minimize chat window",
    "Chat window",
    "Write a message…",
    "Message",
    "Send",
    "Attach a file",
    "Sending…",
    "Sent",
    "Not delivered",
    "Retry",
    "We're online",
    "We're away — leave a message and we'll reply soon",
    "Connecting…",
    "Connection lost. Reconnecting…",
    "Hi! How can we help you today?",
    "Conversation started",
    "Conversation marked as solved",
    "Conversation closed",
    "New conversation",
    "Your conversations",
    "Back to conversations",
    "You",
    "Agent",
    "New message",
    "Unread messages",
    "This file is too large.",
    "This file type isn't allowed.",
    "Download",
    "Open",
    "Solved",
    "Closed",
    "Jump to latest messages",
    "Uploading…",
    "Drop a file to attach it",
    "No messages yet",
    "Loading earlier messages…",
];

const AR_AE: &str = table![
    "فتح الدردشة",
    "إغلاق الدردشة",
    "تصغير نافذة الدردشة",
    "نافذة الدردشة",
    "اكتب رسالة…",
    "الرسالة",
    "إرسال",
    "إرفاق ملف",
    "جارٍ الإرسال…",
    "تم الإرسال",
    "لم يتم التسليم",
    "إعادة المحاولة",
    "نحن متصلون الآن",
    "نحن غير متاحين حاليًا — اترك رسالة وسنرد عليك قريبًا",
    "جارٍ الاتصال…",
    "انقطع الاتصال. جارٍ إعادة الاتصال…",
    "مرحبًا! كيف يمكننا مساعدتك اليوم؟",
    "بدأت المحادثة",
    "تم تمييز المحادثة على أنها محلولة",
    "تم إغلاق المحادثة",
    "محادثة جديدة",
    "محادثاتك",
    "العودة إلى المحادثات",
    "أنت",
    "موظف الدعم",
    "رسالة جديدة",
    "رسائل غير مقروءة",
    "هذا الملف كبير جدًا.",
    "نوع الملف هذا غير مسموح به.",
    "تنزيل",
    "مفتوحة",
    "محلولة",
    "مغلقة",
    "الانتقال إلى أحدث الرسائل",
    "جارٍ رفع الملف…",
    "أفلِت ملفًا هنا لإرفاقه",
    "لا توجد رسائل بعد",
    "جارٍ تحميل الرسائل السابقة…",
];

const BS_BA: &str = table![
    "Otvori chat",
    "Zatvori chat",
    "Minimiziraj prozor chata",
    "Prozor chata",
    "Napišite poruku…",
    "Poruka",
    "Pošalji",
    "Priloži datoteku",
    "Slanje…",
    "Poslano",
    "Nije isporučeno",
    "Pokušaj ponovo",
    "Dostupni smo",
    "Trenutno nismo dostupni — ostavite poruku i uskoro ćemo odgovoriti",
    "Povezivanje…",
    "Veza je prekinuta. Ponovno povezivanje…",
    "Zdravo! Kako vam danas možemo pomoći?",
    "Razgovor je započet",
    "Razgovor je označen kao riješen",
    "Razgovor je zatvoren",
    "Novi razgovor",
    "Vaši razgovori",
    "Nazad na razgovore",
    "Vi",
    "Operater",
    "Nova poruka",
    "Nepročitane poruke",
    "Ova datoteka je prevelika.",
    "Ova vrsta datoteke nije dozvoljena.",
    "Preuzmi",
    "Otvoren",
    "Riješen",
    "Zatvoren",
    "Idi na najnovije poruke",
    "Otpremanje…",
    "Ispustite datoteku ovdje da je priložite",
    "Još nema poruka",
    "Učitavanje ranijih poruka…",
];

const DA_DK: &str = table![
    "Åbn chat",
    "Luk chat",
    "Minimer chatvinduet",
    "Chatvindue",
    "Skriv en besked…",
    "Besked",
    "Send",
    "Vedhæft en fil",
    "Sender…",
    "Sendt",
    "Ikke leveret",
    "Prøv igen",
    "Vi er online",
    "Vi er ikke til stede lige nu – skriv en besked, så svarer vi snart",
    "Opretter forbindelse…",
    "Forbindelsen blev afbrudt. Genopretter forbindelse…",
    "Hej! Hvordan kan vi hjælpe dig i dag?",
    "Samtale startet",
    "Samtale markeret som løst",
    "Samtale lukket",
    "Ny samtale",
    "Dine samtaler",
    "Tilbage til samtaler",
    "Dig",
    "Medarbejder",
    "Ny besked",
    "Ulæste beskeder",
    "Filen er for stor.",
    "Denne filtype er ikke tilladt.",
    "Hent",
    "Åben",
    "Løst",
    "Lukket",
    "Gå til de seneste beskeder",
    "Uploader…",
    "Slip en fil for at vedhæfte den",
    "Ingen beskeder endnu",
    "Indlæser tidligere beskeder…",
];

const DE_DE: &str = table![
    "Chat öffnen",
    "Chat schließen",
    "Chatfenster minimieren",
    "Chatfenster",
    "Nachricht schreiben…",
    "Nachricht",
    "Senden",
    "Datei anhängen",
    "Wird gesendet…",
    "Gesendet",
    "Nicht zugestellt",
    "Erneut versuchen",
    "Wir sind online",
    "Wir sind gerade nicht da – hinterlassen Sie uns eine Nachricht, wir melden uns bald",
    "Verbindung wird hergestellt…",
    "Verbindung unterbrochen. Wird wiederhergestellt…",
    "Hallo! Wie können wir Ihnen heute helfen?",
    "Unterhaltung gestartet",
    "Unterhaltung als gelöst markiert",
    "Unterhaltung geschlossen",
    "Neue Unterhaltung",
    "Ihre Unterhaltungen",
    "Zurück zu den Unterhaltungen",
    "Sie",
    "Support",
    "Neue Nachricht",
    "Ungelesene Nachrichten",
    "Diese Datei ist zu groß.",
    "Dieser Dateityp ist nicht erlaubt.",
    "Herunterladen",
    "Offen",
    "Gelöst",
    "Geschlossen",
    "Zu den neuesten Nachrichten",
    "Wird hochgeladen…",
    "Datei hier ablegen, um sie anzuhängen",
    "Noch keine Nachrichten",
    "Frühere Nachrichten werden geladen…",
];

const EL_GR: &str = table![
    "Άνοιγμα συνομιλίας",
    "Κλείσιμο συνομιλίας",
    "Ελαχιστοποίηση παραθύρου συνομιλίας",
    "Παράθυρο συνομιλίας",
    "Γράψτε ένα μήνυμα…",
    "Μήνυμα",
    "Αποστολή",
    "Επισύναψη αρχείου",
    "Αποστολή…",
    "Στάλθηκε",
    "Δεν παραδόθηκε",
    "Δοκιμάστε ξανά",
    "Είμαστε διαθέσιμοι",
    "Δεν είμαστε διαθέσιμοι τώρα — αφήστε ένα μήνυμα και θα σας απαντήσουμε σύντομα",
    "Σύνδεση…",
    "Η σύνδεση χάθηκε. Επανασύνδεση…",
    "Γεια σας! Πώς μπορούμε να σας βοηθήσουμε σήμερα;",
    "Η συνομιλία ξεκίνησε",
    "Η συνομιλία επισημάνθηκε ως επιλυμένη",
    "Η συνομιλία έκλεισε",
    "Νέα συνομιλία",
    "Οι συνομιλίες σας",
    "Πίσω στις συνομιλίες",
    "Εσείς",
    "Εκπρόσωπος",
    "Νέο μήνυμα",
    "Μη αναγνωσμένα μηνύματα",
    "Αυτό το αρχείο είναι πολύ μεγάλο.",
    "Αυτός ο τύπος αρχείου δεν επιτρέπεται.",
    "Λήψη",
    "Ανοιχτή",
    "Επιλυμένη",
    "Κλειστή",
    "Μετάβαση στα πιο πρόσφατα μηνύματα",
    "Μεταφόρτωση…",
    "Αποθέστε ένα αρχείο εδώ για να το επισυνάψετε",
    "Δεν υπάρχουν μηνύματα ακόμα",
    "Φόρτωση προηγούμενων μηνυμάτων…",
];

const ES_ES: &str = table![
    "Abrir chat",
    "Cerrar chat",
    "Minimizar la ventana del chat",
    "Ventana del chat",
    "Escribe un mensaje…",
    "Mensaje",
    "Enviar",
    "Adjuntar un archivo",
    "Enviando…",
    "Enviado",
    "No entregado",
    "Reintentar",
    "Estamos en línea",
    "Ahora no estamos disponibles: déjanos un mensaje y te responderemos pronto",
    "Conectando…",
    "Se ha perdido la conexión. Reconectando…",
    "¡Hola! ¿En qué podemos ayudarte hoy?",
    "Conversación iniciada",
    "Conversación marcada como resuelta",
    "Conversación cerrada",
    "Nueva conversación",
    "Tus conversaciones",
    "Volver a las conversaciones",
    "Tú",
    "Agente",
    "Nuevo mensaje",
    "Mensajes no leídos",
    "Este archivo es demasiado grande.",
    "No se admite este tipo de archivo.",
    "Descargar",
    "Abierta",
    "Resuelta",
    "Cerrada",
    "Ir a los últimos mensajes",
    "Subiendo…",
    "Suelta un archivo para adjuntarlo",
    "Aún no hay mensajes",
    "Cargando mensajes anteriores…",
];

const ES_LA: &str = table![
    "Abrir chat",
    "Cerrar chat",
    "Minimizar la ventana de chat",
    "Ventana de chat",
    "Escribe un mensaje…",
    "Mensaje",
    "Enviar",
    "Adjuntar un archivo",
    "Enviando…",
    "Enviado",
    "No entregado",
    "Reintentar",
    "Estamos en línea",
    "En este momento no estamos disponibles: déjanos un mensaje y te responderemos pronto",
    "Conectando…",
    "Se perdió la conexión. Reconectando…",
    "¡Hola! ¿Cómo podemos ayudarte hoy?",
    "Conversación iniciada",
    "Conversación marcada como resuelta",
    "Conversación cerrada",
    "Nueva conversación",
    "Tus conversaciones",
    "Regresar a las conversaciones",
    "Tú",
    "Agente",
    "Nuevo mensaje",
    "Mensajes no leídos",
    "Este archivo es demasiado grande.",
    "Este tipo de archivo no está permitido.",
    "Descargar",
    "Abierta",
    "Resuelta",
    "Cerrada",
    "Ir a los mensajes más recientes",
    "Subiendo archivo…",
    "Suelta un archivo para adjuntarlo",
    "Todavía no hay mensajes",
    "Cargando mensajes anteriores…",
];

const FR_FR: &str = table![
    "Ouvrir le chat",
    "Fermer le chat",
    "Réduire la fenêtre de chat",
    "Fenêtre de chat",
    "Écrivez un message…",
    "Message",
    "Envoyer",
    "Joindre un fichier",
    "Envoi en cours…",
    "Envoyé",
    "Non remis",
    "Réessayer",
    "Nous sommes en ligne",
    "Nous sommes absents — laissez-nous un message, nous vous répondrons rapidement",
    "Connexion…",
    "Connexion perdue. Reconnexion…",
    "Bonjour\u{a0}! Comment pouvons-nous vous aider aujourd’hui\u{a0}?",
    "Conversation démarrée",
    "Conversation marquée comme résolue",
    "Conversation fermée",
    "Nouvelle conversation",
    "Vos conversations",
    "Retour aux conversations",
    "Vous",
    "Conseiller",
    "Nouveau message",
    "Messages non lus",
    "Ce fichier est trop volumineux.",
    "Ce type de fichier n’est pas autorisé.",
    "Télécharger",
    "Ouverte",
    "Résolue",
    "Fermée",
    "Aller aux derniers messages",
    "Envoi du fichier…",
    "Déposez un fichier pour le joindre",
    "Aucun message pour l’instant",
    "Chargement des messages précédents…",
];

const HR_HR: &str = table![
    "Otvori chat",
    "Zatvori chat",
    "Minimiziraj prozor chata",
    "Prozor chata",
    "Napišite poruku…",
    "Poruka",
    "Pošalji",
    "Priloži datoteku",
    "Slanje…",
    "Poslano",
    "Nije isporučeno",
    "Pokušaj ponovno",
    "Dostupni smo",
    "Trenutačno nismo dostupni — ostavite poruku i uskoro ćemo vam odgovoriti",
    "Povezivanje…",
    "Veza je prekinuta. Ponovno povezivanje…",
    "Pozdrav! Kako vam danas možemo pomoći?",
    "Razgovor je započeo",
    "Razgovor je označen kao riješen",
    "Razgovor je zatvoren",
    "Novi razgovor",
    "Vaši razgovori",
    "Natrag na razgovore",
    "Vi",
    "Operater",
    "Nova poruka",
    "Nepročitane poruke",
    "Ova je datoteka prevelika.",
    "Ova vrsta datoteke nije dopuštena.",
    "Preuzmi",
    "Otvoren",
    "Riješen",
    "Zatvoren",
    "Idi na najnovije poruke",
    "Prijenos…",
    "Ispustite datoteku ovdje da biste je priložili",
    "Još nema poruka",
    "Učitavanje ranijih poruka…",
];

const HU_HU: &str = table![
    "Csevegés megnyitása",
    "Csevegés bezárása",
    "Csevegőablak kis méretre állítása",
    "Csevegőablak",
    "Üzenet írása…",
    "Üzenet",
    "Küldés",
    "Fájl csatolása",
    "Küldés folyamatban…",
    "Elküldve",
    "Nem kézbesítve",
    "Újra",
    "Elérhetők vagyunk",
    "Jelenleg nem vagyunk elérhetők – hagyjon üzenetet, és hamarosan válaszolunk",
    "Kapcsolódás…",
    "Megszakadt a kapcsolat. Újrakapcsolódás…",
    "Üdvözöljük! Miben segíthetünk ma?",
    "A beszélgetés elkezdődött",
    "A beszélgetés megoldottként megjelölve",
    "A beszélgetés lezárult",
    "Új beszélgetés",
    "Az Ön beszélgetései",
    "Vissza a beszélgetésekhez",
    "Ön",
    "Ügyintéző",
    "Új üzenet",
    "Olvasatlan üzenetek",
    "Ez a fájl túl nagy.",
    "Ez a fájltípus nem engedélyezett.",
    "Letöltés",
    "Nyitott",
    "Megoldott",
    "Lezárt",
    "Ugrás a legújabb üzenetekhez",
    "Feltöltés…",
    "Húzzon ide egy fájlt a csatoláshoz",
    "Még nincsenek üzenetek",
    "Korábbi üzenetek betöltése…",
];

const IT_IT: &str = table![
    "Apri la chat",
    "Chiudi la chat",
    "Riduci la finestra della chat",
    "Finestra della chat",
    "Scrivi un messaggio…",
    "Messaggio",
    "Invia",
    "Allega un file",
    "Invio in corso…",
    "Inviato",
    "Non consegnato",
    "Riprova",
    "Siamo online",
    "Al momento non ci siamo — lascia un messaggio e ti risponderemo presto",
    "Connessione in corso…",
    "Connessione persa. Riconnessione in corso…",
    "Ciao! Come possiamo aiutarti oggi?",
    "Conversazione avviata",
    "Conversazione contrassegnata come risolta",
    "Conversazione chiusa",
    "Nuova conversazione",
    "Le tue conversazioni",
    "Torna alle conversazioni",
    "Tu",
    "Operatore",
    "Nuovo messaggio",
    "Messaggi non letti",
    "Questo file è troppo grande.",
    "Questo tipo di file non è consentito.",
    "Scarica",
    "Aperta",
    "Risolta",
    "Chiusa",
    "Vai agli ultimi messaggi",
    "Caricamento in corso…",
    "Rilascia un file per allegarlo",
    "Ancora nessun messaggio",
    "Caricamento dei messaggi precedenti…",
];

const JA_JP: &str = table![
    "チャットを開く",
    "チャットを閉じる",
    "チャットウィンドウを最小化",
    "チャットウィンドウ",
    "メッセージを入力…",
    "メッセージ",
    "送信",
    "ファイルを添付",
    "送信中…",
    "送信済み",
    "送信できませんでした",
    "再試行",
    "オンライン対応中です",
    "ただいま対応時間外です。メッセージを残していただければ、追ってご返信します",
    "接続中…",
    "接続が切れました。再接続中…",
    "こんにちは！本日はどのようなご用件でしょうか？",
    "会話を開始しました",
    "会話が解決済みになりました",
    "会話が終了しました",
    "新しい会話",
    "会話一覧",
    "会話一覧に戻る",
    "あなた",
    "担当者",
    "新着メッセージ",
    "未読メッセージ",
    "ファイルサイズが大きすぎます。",
    "この形式のファイルは送信できません。",
    "ダウンロード",
    "対応中",
    "解決済み",
    "終了",
    "最新のメッセージへ移動",
    "アップロード中…",
    "ファイルをドロップして添付",
    "まだメッセージはありません",
    "以前のメッセージを読み込んでいます…",
];

const KO_KR: &str = table![
    "채팅 열기",
    "채팅 닫기",
    "채팅 창 최소화",
    "채팅 창",
    "메시지를 입력하세요…",
    "메시지",
    "보내기",
    "파일 첨부",
    "보내는 중…",
    "전송됨",
    "전달되지 않음",
    "다시 시도",
    "지금 상담 가능합니다",
    "지금은 부재 중입니다. 메시지를 남겨 주시면 곧 답변해 드릴게요",
    "연결 중…",
    "연결이 끊겼습니다. 다시 연결하는 중…",
    "안녕하세요! 무엇을 도와드릴까요?",
    "대화가 시작되었습니다",
    "대화가 해결됨으로 표시되었습니다",
    "대화가 종료되었습니다",
    "새 대화",
    "내 대화",
    "대화 목록으로 돌아가기",
    "나",
    "상담원",
    "새 메시지",
    "읽지 않은 메시지",
    "파일이 너무 큽니다.",
    "허용되지 않는 파일 형식입니다.",
    "다운로드",
    "진행 중",
    "해결됨",
    "종료됨",
    "최신 메시지로 이동",
    "업로드 중…",
    "여기에 파일을 놓아 첨부하세요",
    "아직 메시지가 없습니다",
    "이전 메시지를 불러오는 중…",
];

const LT_LT: &str = table![
    "Atidaryti pokalbį",
    "Uždaryti pokalbį",
    "Sumažinti pokalbio langą",
    "Pokalbio langas",
    "Rašykite žinutę…",
    "Žinutė",
    "Siųsti",
    "Pridėti failą",
    "Siunčiama…",
    "Išsiųsta",
    "Nepristatyta",
    "Bandyti dar kartą",
    "Esame prisijungę",
    "Šiuo metu nesame pasiekiami – palikite žinutę ir netrukus atsakysime",
    "Jungiamasi…",
    "Ryšys nutrūko. Jungiamasi iš naujo…",
    "Sveiki! Kuo galime jums šiandien padėti?",
    "Pokalbis pradėtas",
    "Pokalbis pažymėtas kaip išspręstas",
    "Pokalbis uždarytas",
    "Naujas pokalbis",
    "Jūsų pokalbiai",
    "Atgal į pokalbius",
    "Jūs",
    "Konsultantas",
    "Nauja žinutė",
    "Neskaitytos žinutės",
    "Šis failas per didelis.",
    "Šio tipo failai neleidžiami.",
    "Atsisiųsti",
    "Atidarytas",
    "Išspręstas",
    "Uždarytas",
    "Pereiti prie naujausių žinučių",
    "Įkeliama…",
    "Nutempkite failą čia, kad jį pridėtumėte",
    "Žinučių dar nėra",
    "Įkeliamos ankstesnės žinutės…",
];

const LV_LV: &str = table![
    "Atvērt tērzēšanu",
    "Aizvērt tērzēšanu",
    "Minimizēt tērzēšanas logu",
    "Tērzēšanas logs",
    "Rakstiet ziņu…",
    "Ziņa",
    "Sūtīt",
    "Pievienot failu",
    "Notiek sūtīšana…",
    "Nosūtīts",
    "Nav piegādāts",
    "Mēģināt vēlreiz",
    "Esam tiešsaistē",
    "Pašlaik neesam pieejami — atstājiet ziņu, un mēs drīz atbildēsim",
    "Notiek savienojuma izveide…",
    "Savienojums zaudēts. Notiek atkārtota savienojuma izveide…",
    "Sveiki! Kā varam jums šodien palīdzēt?",
    "Saruna sākta",
    "Saruna atzīmēta kā atrisināta",
    "Saruna slēgta",
    "Jauna saruna",
    "Jūsu sarunas",
    "Atpakaļ uz sarunām",
    "Jūs",
    "Konsultants",
    "Jauna ziņa",
    "Nelasītas ziņas",
    "Šis fails ir pārāk liels.",
    "Šāda veida faili nav atļauti.",
    "Lejupielādēt",
    "Atvērta",
    "Atrisināta",
    "Slēgta",
    "Pāriet uz jaunākajām ziņām",
    "Notiek augšupielāde…",
    "Nometiet failu, lai to pievienotu",
    "Vēl nav ziņu",
    "Ielādē iepriekšējās ziņas…",
];

const PL_PL: &str = table![
    "Otwórz czat",
    "Zamknij czat",
    "Zminimalizuj okno czatu",
    "Okno czatu",
    "Napisz wiadomość…",
    "Wiadomość",
    "Wyślij",
    "Załącz plik",
    "Wysyłanie…",
    "Wysłano",
    "Nie dostarczono",
    "Spróbuj ponownie",
    "Jesteśmy online",
    "Teraz nas nie ma — zostaw wiadomość, a wkrótce odpowiemy",
    "Łączenie…",
    "Utracono połączenie. Ponowne łączenie…",
    "Cześć! Jak możemy Ci dziś pomóc?",
    "Rozmowa rozpoczęta",
    "Rozmowa oznaczona jako rozwiązana",
    "Rozmowa zamknięta",
    "Nowa rozmowa",
    "Twoje rozmowy",
    "Wróć do rozmów",
    "Ty",
    "Konsultant",
    "Nowa wiadomość",
    "Nieprzeczytane wiadomości",
    "Ten plik jest za duży.",
    "Ten typ pliku jest niedozwolony.",
    "Pobierz",
    "Otwarta",
    "Rozwiązana",
    "Zamknięta",
    "Przejdź do najnowszych wiadomości",
    "Przesyłanie…",
    "Upuść plik, aby go załączyć",
    "Nie ma jeszcze wiadomości",
    "Wczytywanie wcześniejszych wiadomości…",
];

const PT_BR: &str = table![
    "Abrir chat",
    "Fechar chat",
    "Minimizar janela do chat",
    "Janela do chat",
    "Digite uma mensagem…",
    "Mensagem",
    "Enviar",
    "Anexar arquivo",
    "Enviando…",
    "Enviada",
    "Não entregue",
    "Tentar novamente",
    "Estamos online",
    "Estamos ausentes — deixe uma mensagem e responderemos em breve",
    "Conectando…",
    "Conexão perdida. Reconectando…",
    "Olá! Como podemos ajudar você hoje?",
    "Conversa iniciada",
    "Conversa marcada como resolvida",
    "Conversa encerrada",
    "Nova conversa",
    "Suas conversas",
    "Voltar para as conversas",
    "Você",
    "Atendente",
    "Nova mensagem",
    "Mensagens não lidas",
    "Este arquivo é muito grande.",
    "Este tipo de arquivo não é permitido.",
    "Baixar",
    "Aberta",
    "Resolvida",
    "Encerrada",
    "Ir para as mensagens mais recentes",
    "Enviando arquivo…",
    "Solte um arquivo para anexá-lo",
    "Nenhuma mensagem ainda",
    "Carregando mensagens anteriores…",
];

const PT_PT: &str = table![
    "Abrir chat",
    "Fechar chat",
    "Minimizar janela de chat",
    "Janela de chat",
    "Escreva uma mensagem…",
    "Mensagem",
    "Enviar",
    "Anexar ficheiro",
    "A enviar…",
    "Enviada",
    "Não entregue",
    "Tentar novamente",
    "Estamos online",
    "De momento não estamos disponíveis — deixe uma mensagem e responderemos em breve",
    "A ligar…",
    "Ligação perdida. A restabelecer a ligação…",
    "Olá! Em que podemos ajudar hoje?",
    "Conversa iniciada",
    "Conversa marcada como resolvida",
    "Conversa terminada",
    "Nova conversa",
    "As suas conversas",
    "Voltar às conversas",
    "Você",
    "Operador",
    "Nova mensagem",
    "Mensagens não lidas",
    "Este ficheiro é demasiado grande.",
    "Este tipo de ficheiro não é permitido.",
    "Transferir",
    "Aberta",
    "Resolvida",
    "Terminada",
    "Ir para as mensagens mais recentes",
    "A carregar ficheiro…",
    "Largue um ficheiro para o anexar",
    "Ainda não há mensagens",
    "A carregar mensagens anteriores…",
];

const RO_RO: &str = table![
    "Deschide chatul",
    "Închide chatul",
    "Minimizează fereastra de chat",
    "Fereastră de chat",
    "Scrieți un mesaj…",
    "Mesaj",
    "Trimite",
    "Atașează un fișier",
    "Se trimite…",
    "Trimis",
    "Nelivrat",
    "Reîncearcă",
    "Suntem online",
    "Momentan nu suntem disponibili — lăsați-ne un mesaj și vă vom răspunde în curând",
    "Se conectează…",
    "Conexiunea s-a pierdut. Se reconectează…",
    "Bună ziua! Cu ce vă putem ajuta astăzi?",
    "Conversație începută",
    "Conversație marcată ca rezolvată",
    "Conversație închisă",
    "Conversație nouă",
    "Conversațiile dvs.",
    "Înapoi la conversații",
    "Dumneavoastră",
    "Operator",
    "Mesaj nou",
    "Mesaje necitite",
    "Acest fișier este prea mare.",
    "Acest tip de fișier nu este permis.",
    "Descarcă",
    "Deschisă",
    "Rezolvată",
    "Închisă",
    "Salt la cele mai recente mesaje",
    "Se încarcă fișierul…",
    "Plasați un fișier aici pentru a-l atașa",
    "Niciun mesaj deocamdată",
    "Se încarcă mesajele anterioare…",
];

const RU_RU: &str = table![
    "Открыть чат",
    "Закрыть чат",
    "Свернуть окно чата",
    "Окно чата",
    "Напишите сообщение…",
    "Сообщение",
    "Отправить",
    "Прикрепить файл",
    "Отправка…",
    "Отправлено",
    "Не доставлено",
    "Повторить",
    "Мы в сети",
    "Сейчас нас нет на месте — оставьте сообщение, и мы скоро ответим",
    "Подключение…",
    "Соединение потеряно. Переподключение…",
    "Здравствуйте! Чем мы можем вам помочь?",
    "Диалог начат",
    "Диалог отмечен как решённый",
    "Диалог закрыт",
    "Новый диалог",
    "Ваши диалоги",
    "Назад к диалогам",
    "Вы",
    "Оператор",
    "Новое сообщение",
    "Непрочитанные сообщения",
    "Файл слишком большой.",
    "Файлы этого типа не поддерживаются.",
    "Скачать",
    "Открыт",
    "Решён",
    "Закрыт",
    "К последним сообщениям",
    "Загрузка файла…",
    "Перетащите файл сюда, чтобы прикрепить его",
    "Сообщений пока нет",
    "Загрузка предыдущих сообщений…",
];

const SL_SI: &str = table![
    "Odpri klepet",
    "Zapri klepet",
    "Pomanjšaj okno klepeta",
    "Okno klepeta",
    "Napišite sporočilo…",
    "Sporočilo",
    "Pošlji",
    "Priloži datoteko",
    "Pošiljanje…",
    "Poslano",
    "Ni dostavljeno",
    "Poskusi znova",
    "Na voljo smo",
    "Trenutno nismo na voljo – pustite sporočilo in kmalu vam bomo odgovorili",
    "Povezovanje…",
    "Povezava je prekinjena. Ponovno povezovanje…",
    "Pozdravljeni! Kako vam lahko danes pomagamo?",
    "Pogovor se je začel",
    "Pogovor je označen kot rešen",
    "Pogovor je zaprt",
    "Nov pogovor",
    "Vaši pogovori",
    "Nazaj na pogovore",
    "Vi",
    "Operater",
    "Novo sporočilo",
    "Neprebrana sporočila",
    "Ta datoteka je prevelika.",
    "Ta vrsta datoteke ni dovoljena.",
    "Prenesi",
    "Odprt",
    "Rešen",
    "Zaprt",
    "Pojdi na najnovejša sporočila",
    "Nalaganje…",
    "Spustite datoteko, da jo priložite",
    "Še ni sporočil",
    "Nalaganje starejših sporočil…",
];

const SQ_AL: &str = table![
    "Hap bisedën",
    "Mbyll bisedën",
    "Minimizo dritaren e bisedës",
    "Dritarja e bisedës",
    "Shkruani një mesazh…",
    "Mesazh",
    "Dërgo",
    "Bashkëngjit një skedar",
    "Po dërgohet…",
    "U dërgua",
    "Nuk u dorëzua",
    "Provo përsëri",
    "Jemi në linjë",
    "Tani nuk jemi në linjë — lini një mesazh dhe do t’ju përgjigjemi së shpejti",
    "Po lidhet…",
    "Lidhja u ndërpre. Po rilidhet…",
    "Përshëndetje! Si mund t’ju ndihmojmë sot?",
    "Biseda filloi",
    "Biseda u shënua si e zgjidhur",
    "Biseda u mbyll",
    "Bisedë e re",
    "Bisedat tuaja",
    "Kthehu te bisedat",
    "Ju",
    "Operatori",
    "Mesazh i ri",
    "Mesazhe të palexuara",
    "Ky skedar është shumë i madh.",
    "Ky lloj skedari nuk lejohet.",
    "Shkarko",
    "E hapur",
    "E zgjidhur",
    "E mbyllur",
    "Shko te mesazhet më të fundit",
    "Po ngarkohet…",
    "Lëshoni një skedar këtu për ta bashkëngjitur",
    "Ende nuk ka mesazhe",
    "Po ngarkohen mesazhet e mëparshme…",
];

const SR_LATN: &str = table![
    "Otvori ćaskanje",
    "Zatvori ćaskanje",
    "Umanji prozor za ćaskanje",
    "Prozor za ćaskanje",
    "Napišite poruku…",
    "Poruka",
    "Pošalji",
    "Priloži datoteku",
    "Slanje…",
    "Poslato",
    "Nije isporučeno",
    "Pokušaj ponovo",
    "Dostupni smo",
    "Trenutno nismo dostupni — ostavite poruku i uskoro ćemo vam odgovoriti",
    "Povezivanje…",
    "Veza je prekinuta. Ponovno povezivanje…",
    "Zdravo! Kako možemo da vam pomognemo danas?",
    "Razgovor je započet",
    "Razgovor je označen kao rešen",
    "Razgovor je zatvoren",
    "Novi razgovor",
    "Vaši razgovori",
    "Nazad na razgovore",
    "Vi",
    "Operater",
    "Nova poruka",
    "Nepročitane poruke",
    "Ova datoteka je prevelika.",
    "Ovaj tip datoteke nije dozvoljen.",
    "Preuzmi",
    "Otvoren",
    "Rešen",
    "Zatvoren",
    "Idi na najnovije poruke",
    "Otpremanje…",
    "Otpustite datoteku ovde da biste je priložili",
    "Još nema poruka",
    "Učitavanje ranijih poruka…",
];

const SV_SE: &str = table![
    "Öppna chatten",
    "Stäng chatten",
    "Minimera chattfönstret",
    "Chattfönster",
    "Skriv ett meddelande…",
    "Meddelande",
    "Skicka",
    "Bifoga en fil",
    "Skickar…",
    "Skickat",
    "Inte levererat",
    "Försök igen",
    "Vi är online",
    "Vi är inte här just nu – lämna ett meddelande så svarar vi snart",
    "Ansluter…",
    "Anslutningen bröts. Återansluter…",
    "Hej! Hur kan vi hjälpa dig i dag?",
    "Konversationen har startat",
    "Konversationen har markerats som löst",
    "Konversationen har stängts",
    "Ny konversation",
    "Dina konversationer",
    "Tillbaka till konversationerna",
    "Du",
    "Medarbetare",
    "Nytt meddelande",
    "Olästa meddelanden",
    "Filen är för stor.",
    "Den här filtypen är inte tillåten.",
    "Ladda ned",
    "Öppen",
    "Löst",
    "Stängd",
    "Gå till de senaste meddelandena",
    "Laddar upp…",
    "Släpp en fil för att bifoga den",
    "Inga meddelanden än",
    "Läser in tidigare meddelanden…",
];

const TH_TH: &str = table![
    "เปิดแชท",
    "ปิดแชท",
    "ย่อหน้าต่างแชท",
    "หน้าต่างแชท",
    "พิมพ์ข้อความ…",
    "ข้อความ",
    "ส่ง",
    "แนบไฟล์",
    "กำลังส่ง…",
    "ส่งแล้ว",
    "ส่งไม่สำเร็จ",
    "ลองอีกครั้ง",
    "เราออนไลน์อยู่",
    "ขณะนี้เราไม่อยู่ ฝากข้อความไว้ได้เลย แล้วเราจะรีบตอบกลับ",
    "กำลังเชื่อมต่อ…",
    "การเชื่อมต่อขาดหาย กำลังเชื่อมต่อใหม่…",
    "สวัสดี! วันนี้มีอะไรให้เราช่วยไหม",
    "เริ่มการสนทนาแล้ว",
    "ทำเครื่องหมายการสนทนาว่าแก้ไขแล้ว",
    "ปิดการสนทนาแล้ว",
    "การสนทนาใหม่",
    "การสนทนาของคุณ",
    "กลับไปที่การสนทนา",
    "คุณ",
    "เจ้าหน้าที่",
    "ข้อความใหม่",
    "ข้อความที่ยังไม่ได้อ่าน",
    "ไฟล์นี้มีขนาดใหญ่เกินไป",
    "ไม่อนุญาตให้ใช้ไฟล์ประเภทนี้",
    "ดาวน์โหลด",
    "เปิดอยู่",
    "แก้ไขแล้ว",
    "ปิดแล้ว",
    "ไปที่ข้อความล่าสุด",
    "กำลังอัปโหลด…",
    "วางไฟล์ที่นี่เพื่อแนบ",
    "ยังไม่มีข้อความ",
    "กำลังโหลดข้อความก่อนหน้า…",
];

const TR_TR: &str = table![
    "Sohbeti aç",
    "Sohbeti kapat",
    "Sohbet penceresini küçült",
    "Sohbet penceresi",
    "Bir mesaj yazın…",
    "Mesaj",
    "Gönder",
    "Dosya ekle",
    "Gönderiliyor…",
    "Gönderildi",
    "İletilemedi",
    "Tekrar dene",
    "Çevrimiçiyiz",
    "Şu anda müsait değiliz — mesaj bırakın, en kısa sürede size dönüş yapacağız",
    "Bağlanıyor…",
    "Bağlantı kesildi. Yeniden bağlanıyor…",
    "Merhaba! Bugün size nasıl yardımcı olabiliriz?",
    "Sohbet başlatıldı",
    "Sohbet çözüldü olarak işaretlendi",
    "Sohbet kapatıldı",
    "Yeni sohbet",
    "Sohbetleriniz",
    "Sohbetlere dön",
    "Siz",
    "Temsilci",
    "Yeni mesaj",
    "Okunmamış mesajlar",
    "Bu dosya çok büyük.",
    "Bu dosya türüne izin verilmiyor.",
    "İndir",
    "Açık",
    "Çözüldü",
    "Kapalı",
    "En son mesajlara git",
    "Yükleniyor…",
    "Eklemek için dosyayı buraya bırakın",
    "Henüz mesaj yok",
    "Önceki mesajlar yükleniyor…",
];

const UK_UA: &str = table![
    "Відкрити чат",
    "Закрити чат",
    "Згорнути вікно чату",
    "Вікно чату",
    "Напишіть повідомлення…",
    "Повідомлення",
    "Надіслати",
    "Прикріпити файл",
    "Надсилання…",
    "Надіслано",
    "Не доставлено",
    "Повторити",
    "Ми онлайн",
    "Зараз нас немає на місці — залиште повідомлення, і ми скоро відповімо",
    "Підключення…",
    "З’єднання втрачено. Повторне підключення…",
    "Вітаємо! Чим можемо вам допомогти?",
    "Розмову розпочато",
    "Розмову позначено як вирішену",
    "Розмову закрито",
    "Нова розмова",
    "Ваші розмови",
    "Назад до розмов",
    "Ви",
    "Оператор",
    "Нове повідомлення",
    "Непрочитані повідомлення",
    "Цей файл завеликий.",
    "Файли цього типу не дозволені.",
    "Завантажити",
    "Відкрита",
    "Вирішена",
    "Закрита",
    "До останніх повідомлень",
    "Надсилання файлу…",
    "Перетягніть файл сюди, щоб прикріпити його",
    "Повідомлень ще немає",
    "Завантаження попередніх повідомлень…",
];

const ZH_HANS: &str = table![
    "打开聊天",
    "关闭聊天",
    "最小化聊天窗口",
    "聊天窗口",
    "输入消息…",
    "消息",
    "发送",
    "添加附件",
    "正在发送…",
    "已发送",
    "未送达",
    "重试",
    "我们在线",
    "我们暂时不在线，请留言，我们会尽快回复",
    "正在连接…",
    "连接已断开，正在重新连接…",
    "您好！今天有什么可以帮您？",
    "会话已开始",
    "会话已标记为已解决",
    "会话已关闭",
    "新会话",
    "您的会话",
    "返回会话列表",
    "我",
    "客服",
    "新消息",
    "未读消息",
    "文件过大。",
    "不支持该文件类型。",
    "下载",
    "进行中",
    "已解决",
    "已关闭",
    "跳转到最新消息",
    "正在上传…",
    "拖放文件即可添加附件",
    "暂无消息",
    "正在加载更早的消息…",
];

const ZH_HANT: &str = table![
    "開啟聊天",
    "關閉聊天",
    "最小化聊天視窗",
    "聊天視窗",
    "輸入訊息…",
    "訊息",
    "傳送",
    "附加檔案",
    "正在傳送…",
    "已傳送",
    "未送達",
    "重試",
    "我們在線",
    "我們暫時不在線，請留言，我們會盡快回覆",
    "正在連線…",
    "連線中斷，正在重新連線…",
    "您好！今天有什麼可以幫您？",
    "對話已開始",
    "對話已標記為已解決",
    "對話已關閉",
    "新對話",
    "您的對話",
    "返回對話列表",
    "我",
    "客服",
    "新訊息",
    "未讀訊息",
    "檔案過大。",
    "不支援此檔案類型。",
    "下載",
    "進行中",
    "已解決",
    "已關閉",
    "跳至最新訊息",
    "正在上傳…",
    "拖放檔案即可附加",
    "尚無訊息",
    "正在載入較早的訊息…",
];

const ZH_TW: &str = table![
    "開啟聊天",
    "關閉聊天",
    "縮小聊天視窗",
    "聊天視窗",
    "輸入訊息…",
    "訊息",
    "傳送",
    "附加檔案",
    "傳送中…",
    "已傳送",
    "未送達",
    "重試",
    "我們在線上",
    "我們目前不在線上，請留言，我們會盡快回覆",
    "連線中…",
    "連線中斷，正在重新連線…",
    "您好！今天有什麼可以為您服務的嗎？",
    "對話已開始",
    "對話已標示為已解決",
    "對話已關閉",
    "新對話",
    "您的對話",
    "返回對話列表",
    "我",
    "客服人員",
    "新訊息",
    "未讀訊息",
    "檔案太大。",
    "不支援此檔案類型。",
    "下載",
    "處理中",
    "已解決",
    "已關閉",
    "跳至最新訊息",
    "上傳中…",
    "將檔案拖放到這裡即可附加",
    "目前還沒有訊息",
    "正在載入較早的訊息…",
];

// Native only: the wasm build carries en-US alone.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    /// The 31 tags of spec 001.
    const LANGS: [&str; 31] = [
        "ar-AE", "bs-BA", "da-DK", "de-DE", "el-GR", "en-US", "es-ES", "es-LA", "fr-FR", "hr-HR",
        "hu-HU", "it-IT", "ja-JP", "ko-KR", "lt-LT", "lv-LV", "pl-PL", "pt-BR", "pt-PT", "ro-RO",
        "ru-RU", "sl-SI", "sq-AL", "sr-Latn", "sv-SE", "th-TH", "tr-TR", "uk-UA", "zh-Hans",
        "zh-Hant", "zh-TW",
    ];

    #[test]
    fn tags_are_the_spec_languages() {
        assert_eq!(TAGS, LANGS);
        assert_eq!(TAGS[5], "en-US", "the wasm build keeps index 5 built in");
    }

    #[test]
    fn loadable_tables_are_the_other_thirty_and_install_cleanly() {
        let loadable: Vec<_> = loadable_tables().collect();
        assert_eq!(loadable.len(), 30);
        for (tag, file) in loadable {
            assert_ne!(tag, "en-US");
            assert!(file.starts_with(&format!("{FORMAT:016x}\n")), "{tag}");
            assert!(is_table(&file[17..]), "{tag}");
            assert!(install(tag, file.clone()), "{tag}");
            assert!(ready(tag));
            // Another build's layout, or no header at all, is refused.
            let other = format!("{:016x}{}", FORMAT ^ 1, &file[16..]);
            assert!(!install(tag, other), "{tag}");
            assert!(!install(tag, file[17..].to_string()), "{tag}");
        }
    }

    #[test]
    fn install_refuses_what_is_not_a_table() {
        let de = table("de-DE");
        let missing_one = &de[..de[..de.len() - 1].rfind(SEP).unwrap() + 1];
        let header = format!("{FORMAT:016x}\n");
        for bad in ["", "hello", "<b>x</b>\u{1f}", missing_one, &format!("{de}extra\u{1f}"), &de.replacen("Senden", " ", 1)] {
            assert!(!install("de-DE", format!("{header}{bad}")), "{bad:?}");
        }
        assert!(!install("xx-XX", format!("{header}{de}")), "unknown tag");
        assert!(!install("de-DE", "é".repeat(20)), "no panic on a multi-byte header");
        assert!(ready("xx-XX"), "an unknown tag shows en-US, nothing to wait for");
        assert_eq!(text("de-DE", Key::Send), "Senden", "the built-in table is kept");
    }

    #[test]
    fn all_lists_every_key_in_order() {
        for (i, key) in Key::ALL.iter().enumerate() {
            assert_eq!(*key as usize, i, "{key:?}");
        }
    }

    #[test]
    fn every_language_has_every_key() {
        for lang in LANGS {
            for key in Key::ALL {
                let s = text(lang, key);
                assert!(!s.trim().is_empty(), "{lang} {key:?} is empty");
                assert_eq!(s, s.trim(), "{lang} {key:?} has surrounding whitespace");
            }
        }
    }

    #[test]
    fn english_is_the_source() {
        assert_eq!(text("en-US", Key::Send), "Send");
        assert_eq!(text("en-US", Key::MessagePlaceholder), "Write a message…");
        assert_eq!(text("en-US", Key::NoMessagesYet), "No messages yet");
    }

    #[test]
    fn every_tag_resolves_to_its_own_table() {
        let mut tables: [*const u8; 31] = [core::ptr::null(); 31];
        for (i, lang) in LANGS.iter().enumerate() {
            tables[i] = table(lang).as_ptr();
            assert_eq!(table(lang).matches(SEP).count(), N, "{lang}: not {N} texts");
            assert!(table(lang).ends_with(SEP), "{lang}");
            if *lang == "en-US" {
                continue;
            }
            let differ = Key::ALL.iter().filter(|k| text(lang, **k) != text("en-US", **k)).count();
            assert!(
                differ * 5 >= N * 4,
                "{lang}: only {differ} of {N} keys differ from English"
            );
        }
        for i in 0..tables.len() {
            for j in i + 1..tables.len() {
                assert_ne!(tables[i], tables[j], "{} and {} share a table", LANGS[i], LANGS[j]);
            }
        }
    }

    #[test]
    fn ellipsis_is_kept_where_english_has_it() {
        for lang in LANGS {
            for key in Key::ALL {
                if text("en-US", key).ends_with('…') {
                    assert!(text(lang, key).ends_with('…'), "{lang} {key:?}");
                }
                assert!(!text(lang, key).contains("..."), "{lang} {key:?} uses three dots");
            }
        }
    }

    #[test]
    fn regional_variants_differ() {
        assert_eq!(text("pt-BR", Key::MessagePlaceholder), "Digite uma mensagem…");
        assert_eq!(text("pt-PT", Key::MessagePlaceholder), "Escreva uma mensagem…");
        assert_ne!(text("pt-BR", Key::Attach), text("pt-PT", Key::Attach));
        assert_eq!(text("es-LA", Key::MessagePlaceholder), "Escribe un mensaje…");
        assert_ne!(text("es-ES", Key::Reconnecting), text("es-LA", Key::Reconnecting));
        assert_ne!(text("zh-Hans", Key::Send), text("zh-Hant", Key::Send));
        assert_ne!(text("zh-Hant", Key::Agent), text("zh-TW", Key::Agent));
    }

    #[test]
    fn unknown_tag_falls_back_to_english() {
        for lang in ["", "xx", "de", "DE-de", "en-GB", "sr-Cyrl", "zh-CN", "es-419"] {
            for key in Key::ALL {
                assert_eq!(text(lang, key), text("en-US", key), "{lang:?} {key:?}");
            }
        }
    }

    #[test]
    fn only_arabic_is_rtl() {
        for lang in LANGS {
            assert_eq!(is_rtl(lang), lang == "ar-AE", "{lang}");
        }
        assert!(!is_rtl("xx"));
    }

    #[test]
    fn html_lang_mapping() {
        assert_eq!(html_lang("es-LA"), "es-419");
        assert_eq!(html_lang("sr-Latn"), "sr-Latn-RS");
        assert_eq!(html_lang("zh-Hans"), "zh-Hans");
        assert_eq!(html_lang("zh-Hant"), "zh-Hant");
        assert_eq!(html_lang("zh-TW"), "zh-TW");
        assert_eq!(html_lang("xx"), "en-US");
        for lang in LANGS {
            if !matches!(lang, "es-LA" | "sr-Latn") {
                assert_eq!(html_lang(lang), lang);
            }
        }
    }
}
