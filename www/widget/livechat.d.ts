// Type declarations for the live-chat widget's global `liveChat` function (spec 001).

/** An error handed to a callback: a stable `code` and a human `message`. */
export interface LiveChatError {
  code:
    | 'unknown_command' | 'invalid_argument' | 'not_initialized' | 'already_initialized'
    | 'not_authenticated' | 'unknown_theme' | 'unknown_widget' | 'config_unavailable'
    | 'cancelled' | 'rejected' | 'reauth_required' | 'load_failed';
  message: string;
  /** For `rejected`: the server's own code, e.g. `attachment_rejected`, `invalid_token`. */
  reason?: string;
}

export type Callback<R> = (error: LiveChatError | null | undefined, result?: R) => unknown;

export type LanguageTag =
  | 'ar-AE' | 'bs-BA' | 'da-DK' | 'de-DE' | 'el-GR' | 'en-US' | 'es-ES' | 'es-LA' | 'fr-FR' | 'hr-HR'
  | 'hu-HU' | 'it-IT' | 'ja-JP' | 'ko-KR' | 'lt-LT' | 'lv-LV' | 'pl-PL' | 'pt-BR' | 'pt-PT' | 'ro-RO'
  | 'ru-RU' | 'sl-SI' | 'sq-AL' | 'sr-Latn' | 'sv-SE' | 'th-TH' | 'tr-TR' | 'uk-UA' | 'zh-Hans'
  | 'zh-Hant' | 'zh-TW';

export interface Customer { subject: string; subjectType: 'email' | 'msisdn' | 'externalPersonId' }
export interface InitResult { widgetId: string; language: LanguageTag; online: boolean; customer: Customer | null }
export interface AuthResult { customer: Customer }
export interface ResetResult { cleared: string; loggedOut: boolean }
export interface UiResult { open: boolean; launcher: boolean }
export interface ThemeResult { theme: string }
export interface SentResult { messageId: string; threadId: string; clientId: string; createdAt: number }
export interface DraftResult { draft: string }
export interface ContextualResult { requestId: string; threadIds: string[]; queued: boolean }
export interface LanguageResult { language: LanguageTag; fallback: boolean; requested?: string }

export interface BasicMessage { type: 'BASIC'; message?: string; attachment?: string; fileName?: string; threadId?: string }
export interface DraftMessage { type: 'DRAFT'; message: string; threadId?: string }
export interface CustomDataMessage {
  type: 'CUSTOM_DATA'; customData: unknown; agentMessage?: string; userMessage?: string; threadId?: string;
}
export type SendPayload = BasicMessage | DraftMessage | CustomDataMessage;
export type SendResult<P> = P extends DraftMessage ? DraftResult : SentResult;

export interface ContextualData {
  metadata: Record<string, unknown>;
  multiThreadStrategy?: 'ACTIVE' | 'ALL' | 'ALL_PLUS_NEW';
}

export interface LiveChat {
  (command: 'init', widgetId?: string, callback?: Callback<InitResult>): void;
  (command: 'auth', jwt: string, callback?: Callback<AuthResult>): void;
  (command: 'logout', arg?: null, callback?: Callback<ResetResult>): void;
  (command: 'clear', widgetId?: string | null, callback?: Callback<ResetResult>): void;
  (command: 'show' | 'hide' | 'show_launcher' | 'hide_launcher', arg?: null, callback?: Callback<UiResult>): void;
  (command: 'set_theme', theme: string, callback?: Callback<ThemeResult>): void;
  <P extends SendPayload>(command: 'send', payload: P, callback?: Callback<SendResult<P>>): void;
  (command: 'send_contextual_data', data: ContextualData, callback?: Callback<ContextualResult>): void;
  (command: 'set_language', tag?: LanguageTag | string | null, callback?: Callback<LanguageResult>): void;
  /** Calls made before the script loaded (the snippet's queue). */
  q?: IArguments[];
}

declare global {
  interface Window { liveChat: LiveChat }
  const liveChat: LiveChat;
  interface WindowEventMap {
    'livechat:reauth_required': CustomEvent<null>;
    'livechat:fatal': CustomEvent<string>;
  }
}
