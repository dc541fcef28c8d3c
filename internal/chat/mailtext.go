package chat

import (
	"strings"

	"github.com/parleyhq/parley/internal/identity"
	"github.com/parleyhq/parley/internal/problem"
)

// What Parley writes to customers outside the widget — the email of replies they missed, transcripts
// (emailed or downloaded) — is written in their language: the one the widget spoke when they asked for
// a transcript, else the "locale" claim of their last login token (store.Customer.Locale), else the
// workspace's default language, else English. The languages are the widget's (WidgetLocales); a
// test keeps the two lists the same and every text filled in with the same placeholders as English.
// Emails to agents stay in English, like the console.

// customerText is what those emails and transcripts say, in one language. Placeholders in braces are
// replaced by text.
type customerText struct {
	Dir        string // "rtl" for a right-to-left script, else ""
	TimeLayout string // a time as a Go layout; " UTC" follows it
	Colon      string // between a label and what follows it ("Unsubscribe: https://…")

	ReplySubjectOne  string // {workspace}
	ReplySubjectMany string // {n} {workspace}
	Greeting         string
	GreetingNamed    string // {name}
	ReplyIntroOne    string // {workspace}
	ReplyIntroMany   string // {n} {workspace}
	Continue         string // the link back to the conversation
	Footer           string // {workspace}: why this email came
	Unsubscribe      string

	TranscriptSubject string // {workspace}
	TranscriptIntro   string // {workspace}: above an emailed transcript
	TranscriptTitle   string // {workspace}: a transcript's first line
	TranscriptStarted string // {time}
	You               string // the customer, as the sender of their own messages
	File              string // {name} {size}: a file in a message

	// The page the unsubscribe link opens (package httpapi).
	UnsubscribeTitle  string
	UnsubscribeText   string
	UnsubscribedTitle string
	UnsubscribedText  string // {workspace}
	LinkInvalidTitle  string
	LinkInvalidText   string
}

// customerTexts are the languages of customerText, by the widget's tags.
var customerTexts = map[string]*customerText{
	"en": {
		TimeLayout: "2 Jan 2006 15:04", Colon: ": ",
		ReplySubjectOne: "New reply from {workspace}", ReplySubjectMany: "{n} new replies from {workspace}",
		Greeting: "Hello,", GreetingNamed: "Hello {name},",
		ReplyIntroOne: "you have 1 new reply from {workspace}:", ReplyIntroMany: "you have {n} new replies from {workspace}:",
		Continue: "Continue the conversation", Footer: "You receive this because you chatted with {workspace} while signed in.",
		Unsubscribe:       "Unsubscribe",
		TranscriptSubject: "Your conversation with {workspace}", TranscriptIntro: "Here is your conversation with {workspace}, as you asked.",
		TranscriptTitle: "Conversation with {workspace}", TranscriptStarted: "Started {time}", You: "You", File: "file: {name}, {size}",
		UnsubscribeTitle: "Unsubscribe from email", UnsubscribeText: "You will no longer receive email about your conversations. Chatting on the website is not affected.",
		UnsubscribedTitle: "You are unsubscribed", UnsubscribedText: "{workspace} will not email you about your conversations any more.",
		LinkInvalidTitle: "This link does not work", LinkInvalidText: "This unsubscribe link is not valid; use the link of a recent email.",
	},
	"ar": {
		Dir: "rtl", TimeLayout: "2006-01-02 15:04", Colon: ": ",
		ReplySubjectOne: "رد جديد من {workspace}", ReplySubjectMany: "ردود جديدة من {workspace} ({n})",
		Greeting: "مرحبًا،", GreetingNamed: "مرحبًا {name}،",
		ReplyIntroOne: "لديك رد جديد من {workspace}:", ReplyIntroMany: "لديك ردود جديدة من {workspace} ({n}):",
		Continue: "متابعة المحادثة", Footer: "تصلك هذه الرسالة لأنك تحدثت مع {workspace} بعد تسجيل الدخول.",
		Unsubscribe:       "إلغاء الاشتراك",
		TranscriptSubject: "محادثتك مع {workspace}", TranscriptIntro: "إليك محادثتك مع {workspace} كما طلبت.",
		TranscriptTitle: "محادثة مع {workspace}", TranscriptStarted: "بدأت في {time}", You: "أنت", File: "ملف: {name}، {size}",
		UnsubscribeTitle: "إلغاء الاشتراك في الرسائل", UnsubscribeText: "لن تصلك بعد الآن رسائل بريد إلكتروني بشأن محادثاتك، ولن تتأثر الدردشة على الموقع.",
		UnsubscribedTitle: "تم إلغاء اشتراكك", UnsubscribedText: "لن يرسل إليك {workspace} رسائل بريد إلكتروني بشأن محادثاتك بعد الآن.",
		LinkInvalidTitle: "هذا الرابط لا يعمل", LinkInvalidText: "رابط إلغاء الاشتراك هذا غير صالح؛ استخدم الرابط الموجود في رسالة حديثة.",
	},
	"de": {
		TimeLayout: "02.01.2006 15:04", Colon: ": ",
		ReplySubjectOne: "Neue Antwort von {workspace}", ReplySubjectMany: "{n} neue Antworten von {workspace}",
		Greeting: "Hallo,", GreetingNamed: "Hallo {name},",
		ReplyIntroOne: "Sie haben eine neue Antwort von {workspace}:", ReplyIntroMany: "Sie haben {n} neue Antworten von {workspace}:",
		Continue: "Unterhaltung fortsetzen", Footer: "Sie erhalten diese E-Mail, weil Sie angemeldet mit {workspace} gechattet haben.",
		Unsubscribe:       "Abmelden",
		TranscriptSubject: "Ihre Unterhaltung mit {workspace}", TranscriptIntro: "Hier ist wie gewünscht Ihre Unterhaltung mit {workspace}.",
		TranscriptTitle: "Unterhaltung mit {workspace}", TranscriptStarted: "Begonnen am {time}", You: "Sie", File: "Datei: {name}, {size}",
		UnsubscribeTitle: "Von E-Mails abmelden", UnsubscribeText: "Sie erhalten dann keine E-Mails mehr zu Ihren Unterhaltungen. Der Chat auf der Website bleibt davon unberührt.",
		UnsubscribedTitle: "Sie sind abgemeldet", UnsubscribedText: "{workspace} schickt Ihnen keine E-Mails mehr zu Ihren Unterhaltungen.",
		LinkInvalidTitle: "Dieser Link funktioniert nicht", LinkInvalidText: "Dieser Abmeldelink ist ungültig; verwenden Sie den Link aus einer neueren E-Mail.",
	},
	"es": {
		TimeLayout: "02/01/2006 15:04", Colon: ": ",
		ReplySubjectOne: "Nueva respuesta de {workspace}", ReplySubjectMany: "{n} respuestas nuevas de {workspace}",
		Greeting: "Hola:", GreetingNamed: "Hola, {name}:",
		ReplyIntroOne: "Tiene una respuesta nueva de {workspace}:", ReplyIntroMany: "Tiene {n} respuestas nuevas de {workspace}:",
		Continue: "Continuar la conversación", Footer: "Recibe este mensaje porque habló con {workspace} con la sesión iniciada.",
		Unsubscribe:       "Darse de baja",
		TranscriptSubject: "Su conversación con {workspace}", TranscriptIntro: "Aquí tiene su conversación con {workspace}, como pidió.",
		TranscriptTitle: "Conversación con {workspace}", TranscriptStarted: "Iniciada el {time}", You: "Usted", File: "archivo: {name}, {size}",
		UnsubscribeTitle: "Darse de baja del correo", UnsubscribeText: "Dejará de recibir correos sobre sus conversaciones. El chat en el sitio web no se ve afectado.",
		UnsubscribedTitle: "Se ha dado de baja", UnsubscribedText: "{workspace} ya no le enviará correos sobre sus conversaciones.",
		LinkInvalidTitle: "Este enlace no funciona", LinkInvalidText: "Este enlace para darse de baja no es válido; use el enlace de un correo reciente.",
	},
	"fr": {
		TimeLayout: "02/01/2006 15:04", Colon: "\u202f: ",
		ReplySubjectOne: "Nouvelle réponse de {workspace}", ReplySubjectMany: "{n} nouvelles réponses de {workspace}",
		Greeting: "Bonjour,", GreetingNamed: "Bonjour {name},",
		ReplyIntroOne: "Vous avez une nouvelle réponse de {workspace}\u202f:", ReplyIntroMany: "Vous avez {n} nouvelles réponses de {workspace}\u202f:",
		Continue: "Reprendre la conversation", Footer: "Vous recevez ce message parce que vous avez discuté avec {workspace} en étant connecté.",
		Unsubscribe:       "Se désabonner",
		TranscriptSubject: "Votre conversation avec {workspace}", TranscriptIntro: "Voici votre conversation avec {workspace}, comme demandé.",
		TranscriptTitle: "Conversation avec {workspace}", TranscriptStarted: "Commencée le {time}", You: "Vous", File: "fichier\u202f: {name}, {size}",
		UnsubscribeTitle: "Se désabonner des e-mails", UnsubscribeText: "Vous ne recevrez plus d’e-mails au sujet de vos conversations. Le chat sur le site n’est pas concerné.",
		UnsubscribedTitle: "Vous êtes désabonné", UnsubscribedText: "{workspace} ne vous enverra plus d’e-mails au sujet de vos conversations.",
		LinkInvalidTitle: "Ce lien ne fonctionne pas", LinkInvalidText: "Ce lien de désabonnement n’est pas valide\u202f; utilisez celui d’un e-mail récent.",
	},
	"ja": {
		TimeLayout: "2006/01/02 15:04", Colon: "：",
		ReplySubjectOne: "{workspace}から新しい返信があります", ReplySubjectMany: "{workspace}から新しい返信が{n}件あります",
		Greeting: "こんにちは。", GreetingNamed: "{name}様",
		ReplyIntroOne: "{workspace}から新しい返信が届きました。", ReplyIntroMany: "{workspace}から新しい返信が{n}件届きました。",
		Continue: "会話を続ける", Footer: "このメールは、ログインした状態で{workspace}とチャットされたためお送りしています。",
		Unsubscribe:       "配信停止",
		TranscriptSubject: "{workspace}との会話", TranscriptIntro: "ご依頼いただいた{workspace}との会話の記録です。",
		TranscriptTitle: "{workspace}との会話", TranscriptStarted: "開始：{time}", You: "あなた", File: "ファイル：{name}、{size}",
		UnsubscribeTitle: "メール配信の停止", UnsubscribeText: "会話に関するメールは今後届かなくなります。ウェブサイトでのチャットには影響しません。",
		UnsubscribedTitle: "配信を停止しました", UnsubscribedText: "{workspace}から会話に関するメールは今後送信されません。",
		LinkInvalidTitle: "このリンクは使用できません", LinkInvalidText: "この配信停止リンクは無効です。最近のメールにあるリンクをご利用ください。",
	},
	"nl": {
		TimeLayout: "02-01-2006 15:04", Colon: ": ",
		ReplySubjectOne: "Nieuw antwoord van {workspace}", ReplySubjectMany: "{n} nieuwe antwoorden van {workspace}",
		Greeting: "Hallo,", GreetingNamed: "Hallo {name},",
		ReplyIntroOne: "U hebt een nieuw antwoord van {workspace}:", ReplyIntroMany: "U hebt {n} nieuwe antwoorden van {workspace}:",
		Continue: "Het gesprek voortzetten", Footer: "U ontvangt dit bericht omdat u ingelogd met {workspace} hebt gechat.",
		Unsubscribe:       "Afmelden",
		TranscriptSubject: "Uw gesprek met {workspace}", TranscriptIntro: "Hier is uw gesprek met {workspace}, zoals gevraagd.",
		TranscriptTitle: "Gesprek met {workspace}", TranscriptStarted: "Begonnen op {time}", You: "U", File: "bestand: {name}, {size}",
		UnsubscribeTitle: "Afmelden voor e-mail", UnsubscribeText: "U ontvangt dan geen e-mails meer over uw gesprekken. Chatten op de website blijft gewoon mogelijk.",
		UnsubscribedTitle: "U bent afgemeld", UnsubscribedText: "{workspace} stuurt u geen e-mails meer over uw gesprekken.",
		LinkInvalidTitle: "Deze link werkt niet", LinkInvalidText: "Deze afmeldlink is niet geldig; gebruik de link uit een recente e-mail.",
	},
	"pl": {
		// Polish counts in three forms; a number in brackets after the noun reads well with any of them.
		TimeLayout: "02.01.2006 15:04", Colon: ": ",
		ReplySubjectOne: "Nowa odpowiedź od {workspace}", ReplySubjectMany: "Nowe odpowiedzi od {workspace} ({n})",
		Greeting: "Dzień dobry,", GreetingNamed: "Dzień dobry, {name},",
		ReplyIntroOne: "Jest nowa odpowiedź od {workspace}:", ReplyIntroMany: "Są nowe odpowiedzi od {workspace} ({n}):",
		Continue: "Kontynuuj rozmowę", Footer: "Ta wiadomość przychodzi, ponieważ rozmowa z {workspace} odbyła się po zalogowaniu.",
		Unsubscribe:       "Wypisz się",
		TranscriptSubject: "Twoja rozmowa z {workspace}", TranscriptIntro: "Oto zamówiony zapis rozmowy z {workspace}.",
		TranscriptTitle: "Rozmowa z {workspace}", TranscriptStarted: "Rozpoczęta {time}", You: "Ty", File: "plik: {name}, {size}",
		UnsubscribeTitle: "Rezygnacja z wiadomości e-mail", UnsubscribeText: "Wiadomości e-mail o rozmowach nie będą już przychodzić. Czat na stronie działa bez zmian.",
		UnsubscribedTitle: "Subskrypcja anulowana", UnsubscribedText: "{workspace} nie będzie już wysyłać wiadomości e-mail o rozmowach.",
		LinkInvalidTitle: "Ten link nie działa", LinkInvalidText: "Ten link do rezygnacji jest nieprawidłowy; użyj linku z nowszej wiadomości.",
	},
	"pt-BR": {
		TimeLayout: "02/01/2006 15:04", Colon: ": ",
		ReplySubjectOne: "Nova resposta de {workspace}", ReplySubjectMany: "{n} novas respostas de {workspace}",
		Greeting: "Olá,", GreetingNamed: "Olá, {name},",
		ReplyIntroOne: "Você tem uma nova resposta de {workspace}:", ReplyIntroMany: "Você tem {n} novas respostas de {workspace}:",
		Continue: "Continuar a conversa", Footer: "Você recebe este e-mail porque conversou com {workspace} enquanto estava conectado.",
		Unsubscribe:       "Cancelar inscrição",
		TranscriptSubject: "Sua conversa com {workspace}", TranscriptIntro: "Aqui está sua conversa com {workspace}, como você pediu.",
		TranscriptTitle: "Conversa com {workspace}", TranscriptStarted: "Iniciada em {time}", You: "Você", File: "arquivo: {name}, {size}",
		UnsubscribeTitle: "Cancelar o recebimento de e-mails", UnsubscribeText: "Você não receberá mais e-mails sobre suas conversas. O chat no site continua funcionando.",
		UnsubscribedTitle: "Inscrição cancelada", UnsubscribedText: "{workspace} não enviará mais e-mails sobre suas conversas.",
		LinkInvalidTitle: "Este link não funciona", LinkInvalidText: "Este link de cancelamento não é válido; use o link de um e-mail recente.",
	},
}

// customerLocale picks the language of an email or transcript: the first of tags that names one the
// texts are written in — the tag itself, else the first of the same language ("de-AT" is "de", "pt"
// is "pt-BR") — and English when none does. Tags that are not language tags are passed over.
func customerLocale(tags ...string) string {
	for _, tag := range tags {
		canon, ok := identity.CanonicalLocale(strings.TrimSpace(tag))
		if !ok {
			continue
		}
		if _, ok := customerTexts[canon]; ok {
			return canon
		}
		lang, _, _ := strings.Cut(canon, "-")
		for _, l := range WidgetLocales() {
			if base, _, _ := strings.Cut(l.Tag, "-"); base == lang {
				return l.Tag
			}
		}
	}
	return "en"
}

// parseLocale reads a language someone asks for (a customer's, a page's): a BCP 47 tag in canonical
// case, "" for none; anything else is refused.
func parseLocale(tag string) (string, error) {
	tag = strings.TrimSpace(tag)
	if tag == "" {
		return "", nil
	}
	canon, ok := identity.CanonicalLocale(tag)
	if !ok {
		return "", problem.InvalidField("locale", "must be a BCP 47 language tag such as de or pt-BR (at most 20 characters)")
	}
	return canon, nil
}

// textsFor is the customerText of a language customerLocale chose.
func textsFor(locale string) *customerText {
	if t, ok := customerTexts[locale]; ok {
		return t
	}
	return customerTexts["en"]
}

// format replaces the placeholders of s: pairs of name and value ("workspace", "Acme"), in one pass,
// so that a value which itself contains "{n}" (a business's name can) is left as it is.
func format(s string, pairs ...string) string {
	args := make([]string, 0, len(pairs))
	for i := 0; i+1 < len(pairs); i += 2 {
		args = append(args, "{"+pairs[i]+"}", pairs[i+1])
	}
	return strings.NewReplacer(args...).Replace(s)
}
