import Foundation
import RNNEngine
import Translation

/// The built-in data set: English sentences and their German translations, generated from a
/// small grammar of both languages, since no parallel text ships with Debian or Ubuntu.
///
/// The grammar is real where translation is hard: German gender, case and number agreement of
/// articles, possessives and adjectives (der/den/dem, ein/einen/einem, kein, strong, weak and
/// mixed adjective endings), verb-second order after a fronted adverb, the perfect tense with
/// its participle at the end of the clause, verb-final subordinate clauses (weil, dass),
/// dative and accusative objects, two-way prepositions (im Garten / in den Garten, with their
/// contractions), and negation as `nicht` or `kein`. A model must reorder and agree to
/// translate it, so attention matters; the vocabulary is small, so a model learns it in minutes.
public enum DefaultParallelCorpus {
    /// Distinct English sentences generated.
    public static let defaultCount = 40_000
    public static let seed: UInt64 = 2024

    /// `count` distinct sentence pairs, the same on every machine.
    public static func pairs(count: Int = defaultCount, seed: UInt64 = seed) -> [SentencePair] {
        var generator = SentenceGenerator(rng: RandomGenerator(seed: seed))
        var seen = Set<String>()
        var result: [SentencePair] = []
        var attempts = 0
        while result.count < count && attempts < count * 20 {
            attempts += 1
            let pair = generator.sentence()
            if seen.insert(pair.source).inserted { result.append(pair) }
        }
        return result
    }

    /// The pairs split 90/5/5 by source hash (no English sentence is in two splits).
    public static func load(count: Int = defaultCount) -> ParallelCorpus {
        var corpus = ParallelCorpus.split(pairs(count: count), source: "the built-in English–German corpus")
        corpus.trainSource = "built-in corpus (train)"
        corpus.validSource = "built-in corpus (valid)"
        corpus.testSource = "built-in corpus (test)"
        return corpus
    }

    /// Writes train.tsv, valid.tsv and test.tsv (`zoo data translation --out DIR`); refuses to
    /// replace an existing file unless `overwrite`.
    public static func write(to directory: String, overwrite: Bool = false, count: Int = defaultCount) throws
        -> [String]
    {
        let corpus = load(count: count)
        let files = [("train.tsv", corpus.train), ("valid.tsv", corpus.valid), ("test.tsv", corpus.test)].map {
            ((directory as NSString).appendingPathComponent($0.0), $0.1)
        }
        if !overwrite, let existing = files.first(where: { FileManager.default.fileExists(atPath: $0.0) }) {
            throw ParallelCorpusError.wouldOverwrite(path: existing.0)
        }
        try createDirectory(directory)
        for (path, pairs) in files { try ParallelCorpus.writeTSV(pairs, to: path) }
        return files.map(\.0)
    }
}

// MARK: - The lexicon

private enum Gender: Int {
    case masculine = 0
    case feminine, neuter, plural
}
private enum Case: Int {
    case nominative = 0
    case accusative, dative
}

private struct Category: OptionSet {
    let rawValue: Int
    static let person = Category(rawValue: 1), animal = Category(rawValue: 2), food = Category(rawValue: 4)
    static let thing = Category(rawValue: 8), readable = Category(rawValue: 16), place = Category(rawValue: 32)
    static let animate: Category = [.person, .animal]
    static let object: Category = [.food, .thing, .readable]
    static let any: Category = [.person, .animal, .food, .thing, .readable, .place]
}

private struct Noun {
    let english: String, englishPlural: String, german: String, germanPlural: String
    let gender: Gender, category: Category
    /// The dative plural adds -n unless the plural already ends in -n or -s.
    var germanDativePlural: String {
        germanPlural.hasSuffix("n") || germanPlural.hasSuffix("s") ? germanPlural : germanPlural + "n"
    }
}

private func noun(_ en: String, _ enPl: String, _ de: String, _ dePl: String, _ g: Gender, _ c: Category) -> Noun {
    Noun(english: en, englishPlural: enPl, german: de, germanPlural: dePl, gender: g, category: c)
}

private let nouns: [Noun] = [
    noun("man", "men", "Mann", "Männer", .masculine, .person),
    noun("woman", "women", "Frau", "Frauen", .feminine, .person),
    noun("child", "children", "Kind", "Kinder", .neuter, .person),
    noun("teacher", "teachers", "Lehrer", "Lehrer", .masculine, .person),
    noun("doctor", "doctors", "Arzt", "Ärzte", .masculine, .person),
    noun("friend", "friends", "Freund", "Freunde", .masculine, .person),
    noun("sister", "sisters", "Schwester", "Schwestern", .feminine, .person),
    noun("brother", "brothers", "Bruder", "Brüder", .masculine, .person),
    noun("mother", "mothers", "Mutter", "Mütter", .feminine, .person),
    noun("father", "fathers", "Vater", "Väter", .masculine, .person),
    noun("girl", "girls", "Mädchen", "Mädchen", .neuter, .person),
    noun("baker", "bakers", "Bäcker", "Bäcker", .masculine, .person),
    noun("cook", "cooks", "Koch", "Köche", .masculine, .person),
    noun("king", "kings", "König", "Könige", .masculine, .person),
    noun("queen", "queens", "Königin", "Königinnen", .feminine, .person),
    noun("pupil", "pupils", "Schüler", "Schüler", .masculine, .person),
    noun("dog", "dogs", "Hund", "Hunde", .masculine, .animal),
    noun("cat", "cats", "Katze", "Katzen", .feminine, .animal),
    noun("bird", "birds", "Vogel", "Vögel", .masculine, .animal),
    noun("horse", "horses", "Pferd", "Pferde", .neuter, .animal),
    noun("mouse", "mice", "Maus", "Mäuse", .feminine, .animal), noun("cow", "cows", "Kuh", "Kühe", .feminine, .animal),
    noun("apple", "apples", "Apfel", "Äpfel", .masculine, .food),
    noun("cake", "cakes", "Kuchen", "Kuchen", .masculine, .food),
    noun("egg", "eggs", "Ei", "Eier", .neuter, .food), noun("banana", "bananas", "Banane", "Bananen", .feminine, .food),
    noun("pear", "pears", "Birne", "Birnen", .feminine, .food),
    noun("cookie", "cookies", "Keks", "Kekse", .masculine, .food),
    noun("ball", "balls", "Ball", "Bälle", .masculine, .thing),
    noun("key", "keys", "Schlüssel", "Schlüssel", .masculine, .thing),
    noun("cup", "cups", "Tasse", "Tassen", .feminine, .thing),
    noun("glass", "glasses", "Glas", "Gläser", .neuter, .thing),
    noun("lamp", "lamps", "Lampe", "Lampen", .feminine, .thing),
    noun("chair", "chairs", "Stuhl", "Stühle", .masculine, .thing),
    noun("table", "tables", "Tisch", "Tische", .masculine, .thing),
    noun("car", "cars", "Auto", "Autos", .neuter, .thing),
    noun("bag", "bags", "Tasche", "Taschen", .feminine, .thing), noun("hat", "hats", "Hut", "Hüte", .masculine, .thing),
    noun("bottle", "bottles", "Flasche", "Flaschen", .feminine, .thing),
    noun("box", "boxes", "Kiste", "Kisten", .feminine, .thing),
    noun("clock", "clocks", "Uhr", "Uhren", .feminine, .thing),
    noun("flower", "flowers", "Blume", "Blumen", .feminine, .thing),
    noun("picture", "pictures", "Bild", "Bilder", .neuter, .thing),
    noun("book", "books", "Buch", "Bücher", .neuter, .readable),
    noun("letter", "letters", "Brief", "Briefe", .masculine, .readable),
    noun("newspaper", "newspapers", "Zeitung", "Zeitungen", .feminine, .readable),
    noun("story", "stories", "Geschichte", "Geschichten", .feminine, .readable),
    noun("map", "maps", "Karte", "Karten", .feminine, .readable),
    noun("poem", "poems", "Gedicht", "Gedichte", .neuter, .readable),
    noun("garden", "gardens", "Garten", "Gärten", .masculine, .place),
    noun("house", "houses", "Haus", "Häuser", .neuter, .place),
    noun("city", "cities", "Stadt", "Städte", .feminine, .place),
    noun("park", "parks", "Park", "Parks", .masculine, .place),
    noun("kitchen", "kitchens", "Küche", "Küchen", .feminine, .place),
    noun("school", "schools", "Schule", "Schulen", .feminine, .place),
    noun("forest", "forests", "Wald", "Wälder", .masculine, .place),
    noun("village", "villages", "Dorf", "Dörfer", .neuter, .place),
    noun("room", "rooms", "Zimmer", "Zimmer", .neuter, .place),
    noun("library", "libraries", "Bibliothek", "Bibliotheken", .feminine, .place)
]

private struct Adjective { let english: String, germanStem: String, fits: Category }
private let adjectives: [Adjective] = [
    .init(english: "big", germanStem: "groß", fits: .any), .init(english: "small", germanStem: "klein", fits: .any),
    .init(english: "old", germanStem: "alt", fits: .any), .init(english: "beautiful", germanStem: "schön", fits: .any),
    .init(english: "strange", germanStem: "seltsam", fits: .any),
    .init(english: "young", germanStem: "jung", fits: .animate),
    .init(english: "hungry", germanStem: "hungrig", fits: .animate),
    .init(english: "tired", germanStem: "müd", fits: .animate),
    .init(english: "friendly", germanStem: "freundlich", fits: .animate),
    .init(english: "clever", germanStem: "klug", fits: .animate),
    .init(english: "happy", germanStem: "glücklich", fits: .animate),
    .init(english: "quiet", germanStem: "leis", fits: .animate),
    .init(english: "red", germanStem: "rot", fits: .object), .init(english: "green", germanStem: "grün", fits: .object),
    .init(english: "blue", germanStem: "blau", fits: .object),
    .init(english: "new", germanStem: "neu", fits: [.thing, .readable, .place]),
    .init(english: "black", germanStem: "schwarz", fits: [.thing, .animal]),
    .init(english: "white", germanStem: "weiß", fits: [.thing, .animal])
]

/// German present forms for ich, du, er/sie/es, wir, sie (plural).
private struct Verb {
    let base: String, third: String, past: String
    let present: [String], participle: String
    /// `sein` forms the perfect (motion verbs), else `haben`.
    let withSein: Bool
    /// Who can do it, and what it takes.
    let subjects: Category, objects: Category
    let kind: Kind
    enum Kind { case transitive, ditransitive, intransitive, motion, saying }
}

private func verb(
    _ base: String, _ third: String, _ past: String, _ present: String, _ participle: String,
    subjects: Category = .person, objects: Category = [], _ kind: Verb.Kind, sein: Bool = false
) -> Verb {
    Verb(
        base: base, third: third, past: past, present: present.split(separator: " ").map(String.init),
        participle: participle,
        withSein: sein, subjects: subjects, objects: objects, kind: kind)
}

private let verbs: [Verb] = [
    verb(
        "see", "sees", "saw", "sehe siehst sieht sehen sehen", "gesehen", subjects: .animate, objects: .any, .transitive
    ),
    verb(
        "find", "finds", "found", "finde findest findet finden finden", "gefunden", subjects: .animate,
        objects: [.animate, .object], .transitive),
    verb(
        "buy", "buys", "bought", "kaufe kaufst kauft kaufen kaufen", "gekauft", objects: [.object, .animal], .transitive
    ),
    verb("read", "reads", "read", "lese liest liest lesen lesen", "gelesen", objects: .readable, .transitive),
    verb(
        "love", "loves", "loved", "liebe liebst liebt lieben lieben", "geliebt", subjects: .animate, objects: .any,
        .transitive),
    verb(
        "visit", "visits", "visited", "besuche besuchst besucht besuchen besuchen", "besucht",
        objects: [.person, .place], .transitive),
    verb("paint", "paints", "painted", "male malst malt malen malen", "gemalt", objects: .any, .transitive),
    verb(
        "carry", "carries", "carried", "trage trägst trägt tragen tragen", "getragen", objects: [.object, .animal],
        .transitive),
    verb(
        "hear", "hears", "heard", "höre hörst hört hören hören", "gehört", subjects: .animate, objects: .animate,
        .transitive),
    verb(
        "need", "needs", "needed", "brauche brauchst braucht brauchen brauchen", "gebraucht",
        objects: [.object, .person], .transitive),
    verb(
        "wash", "washes", "washed", "wasche wäschst wäscht waschen waschen", "gewaschen",
        objects: [.thing, .animal, .food], .transitive),
    verb(
        "hold", "holds", "held", "halte hältst hält halten halten", "gehalten", objects: [.object, .animal], .transitive
    ),
    verb(
        "eat", "eats", "ate", "esse isst isst essen essen", "gegessen", subjects: .animate, objects: .food, .transitive),
    verb(
        "draw", "draws", "drew", "zeichne zeichnest zeichnet zeichnen zeichnen", "gezeichnet", objects: .any,
        .transitive),
    verb("give", "gives", "gave", "gebe gibst gibt geben geben", "gegeben", objects: .object, .ditransitive),
    verb(
        "show", "shows", "showed", "zeige zeigst zeigt zeigen zeigen", "gezeigt", objects: [.object, .animal],
        .ditransitive),
    verb(
        "send", "sends", "sent", "schicke schickst schickt schicken schicken", "geschickt", objects: .object,
        .ditransitive),
    verb(
        "bring", "brings", "brought", "bringe bringst bringt bringen bringen", "gebracht", objects: .object,
        .ditransitive),
    verb(
        "sleep", "sleeps", "slept", "schlafe schläfst schläft schlafen schlafen", "geschlafen", subjects: .animate,
        .intransitive),
    verb(
        "play", "plays", "played", "spiele spielst spielt spielen spielen", "gespielt", subjects: .animate,
        .intransitive),
    verb(
        "wait", "waits", "waited", "warte wartest wartet warten warten", "gewartet", subjects: .animate, .intransitive),
    verb("work", "works", "worked", "arbeite arbeitest arbeitet arbeiten arbeiten", "gearbeitet", .intransitive),
    verb("sing", "sings", "sang", "singe singst singt singen singen", "gesungen", .intransitive),
    verb("go", "goes", "went", "gehe gehst geht gehen gehen", "gegangen", subjects: .animate, .motion, sein: true),
    verb("run", "runs", "ran", "laufe läufst läuft laufen laufen", "gelaufen", subjects: .animate, .motion, sein: true),
    verb(
        "come", "comes", "came", "komme kommst kommt kommen kommen", "gekommen", subjects: .animate, .motion, sein: true
    ),
    verb("say", "says", "said", "sage sagst sagt sagen sagen", "gesagt", .saying),
    verb("think", "thinks", "thought", "denke denkst denkt denken denken", "gedacht", .saying),
    verb("know", "knows", "knew", "weiß weißt weiß wissen wissen", "gewusst", .saying)
]

private let haben = ["habe", "hast", "hat", "haben", "haben"]
private let sein = ["bin", "bist", "ist", "sind", "sind"]

/// Pronouns: English subject, object; German nominative, accusative, dative; verb person.
private struct Pronoun {
    let english: String, englishObject: String, nominative: String, accusative: String, dative: String, person: Int
}
private let pronouns: [Pronoun] = [
    .init(english: "I", englishObject: "me", nominative: "ich", accusative: "mich", dative: "mir", person: 0),
    .init(english: "you", englishObject: "you", nominative: "du", accusative: "dich", dative: "dir", person: 1),
    .init(english: "he", englishObject: "him", nominative: "er", accusative: "ihn", dative: "ihm", person: 2),
    .init(english: "she", englishObject: "her", nominative: "sie", accusative: "sie", dative: "ihr", person: 2),
    .init(english: "we", englishObject: "us", nominative: "wir", accusative: "uns", dative: "uns", person: 3),
    .init(english: "they", englishObject: "them", nominative: "sie", accusative: "sie", dative: "ihnen", person: 4)
]

/// Determiners: English singular / plural form (nil: not used), German forms by [case][gender].
private struct Determiner {
    let english: String?, englishPlural: String?
    let german: [[String?]]
    /// Which adjective endings follow: weak after der/dieser, mixed after ein/mein/kein, strong alone.
    let declension: Declension
    let indefinite: Bool
    enum Declension { case weak, mixed, strong }
}

private func possessive(_ stem: String) -> [[String?]] {
    [
        [stem, stem + "e", stem, stem + "e"], [stem + "en", stem + "e", stem, stem + "e"],
        [stem + "em", stem + "er", stem + "em", stem + "en"]
    ]
}

private let definite = Determiner(
    english: "the", englishPlural: "the",
    german: [["der", "die", "das", "die"], ["den", "die", "das", "die"], ["dem", "der", "dem", "den"]],
    declension: .weak, indefinite: false)
private let demonstrative = Determiner(
    english: "this", englishPlural: "these",
    german: [
        ["dieser", "diese", "dieses", "diese"], ["diesen", "diese", "dieses", "diese"],
        ["diesem", "dieser", "diesem", "diesen"]
    ],
    declension: .weak, indefinite: false)
private let indefinite = Determiner(
    english: "a", englishPlural: "",
    german: [["ein", "eine", "ein", ""], ["einen", "eine", "ein", ""], ["einem", "einer", "einem", ""]],
    declension: .mixed, indefinite: true)
private let negative = Determiner(
    english: nil, englishPlural: nil, german: possessive("kein"), declension: .mixed, indefinite: false)
private let determiners: [Determiner] = [
    definite, definite, definite, indefinite, indefinite, demonstrative,
    Determiner(english: "my", englishPlural: "my", german: possessive("mein"), declension: .mixed, indefinite: false),
    Determiner(
        english: "our", englishPlural: "our", german: possessive("unser"), declension: .mixed, indefinite: false),
    Determiner(
        english: "your", englishPlural: "your", german: possessive("dein"), declension: .mixed, indefinite: false)
]

/// The ending of an adjective after a determiner of `declension`.
private func adjectiveEnding(_ declension: Determiner.Declension, _ c: Case, _ g: Gender, articleEmpty: Bool) -> String
{
    if c == .dative { return "en" }
    if g == .plural { return articleEmpty ? "e" : "en" }  // strong plural without article: -e
    switch declension {
    case .weak:
        return c == .accusative && g == .masculine ? "en" : "e"
    case .mixed, .strong:
        if c == .accusative && g == .masculine { return "en" }
        switch g {
        case .masculine: return "er"
        case .feminine: return "e"
        default: return "es"
        }
    }
}

// MARK: - Phrases

/// A noun phrase in both languages; German inflects it by case when the clause is built.
private struct NounPhrase {
    let noun: Noun
    let plural: Bool
    let determiner: Determiner
    let adjective: Adjective?

    var englishPerson: Int { plural ? 4 : 2 }

    func english() -> [String] {
        var words: [String] = []
        let article = plural ? determiner.englishPlural ?? "" : determiner.english ?? ""
        let next = adjective?.english ?? (plural ? noun.englishPlural : noun.english)
        if article == "a" {
            words.append("aeio".contains(next.first!) ? "an" : "a")
        } else if !article.isEmpty {
            words.append(article)
        }
        if let adjective { words.append(adjective.english) }
        words.append(plural ? noun.englishPlural : noun.english)
        return words
    }

    func german(_ c: Case, negated: Bool = false) -> [String] {
        let gender = plural ? Gender.plural : noun.gender
        // Negation turns an indefinite article (or none, in the plural) into kein.
        let determiner = negated && self.determiner.indefinite ? negative : self.determiner
        let article = determiner.german[c.rawValue][gender.rawValue] ?? ""
        var words: [String] = article.isEmpty ? [] : [article]
        if let adjective {
            words.append(
                adjective.germanStem + adjectiveEnding(determiner.declension, c, gender, articleEmpty: article.isEmpty))
        }
        words.append(plural ? (c == .dative ? noun.germanDativePlural : noun.germanPlural) : noun.german)
        return words
    }

    var isIndefinite: Bool { determiner.indefinite }
}

/// A subject or object: a pronoun or a noun phrase.
private enum Participant {
    case pronoun(Pronoun)
    case phrase(NounPhrase)

    var person: Int {
        switch self {
        case .pronoun(let p): return p.person
        case .phrase(let np): return np.englishPerson
        }
    }
    var isPronoun: Bool { if case .pronoun = self { return true } else { return false } }

    func english(subject: Bool) -> [String] {
        switch self {
        case .pronoun(let p): return [subject ? p.english : p.englishObject]
        case .phrase(let np): return np.english()
        }
    }

    func german(_ c: Case, negated: Bool = false) -> [String] {
        switch self {
        case .pronoun(let p): return [c == .nominative ? p.nominative : c == .accusative ? p.accusative : p.dative]
        case .phrase(let np): return np.german(c, negated: negated)
        }
    }
    var takesKein: Bool { if case .phrase(let np) = self { return np.isIndefinite } else { return false } }
}

/// A prepositional phrase: a location (dative) or a direction (accusative), or company (mit + dative).
private struct Preposition { let english: String, german: String, fits: Category }
private let locations: [Preposition] = [
    .init(english: "in", german: "in", fits: .place),
    .init(english: "behind", german: "hinter", fits: [.place, .thing]),
    .init(english: "in front of", german: "vor", fits: [.place, .thing]),
    .init(english: "next to", german: "neben", fits: [.place, .thing]),
    .init(english: "under", german: "unter", fits: .thing)
]

private struct Clause {
    var subject: Participant
    var verb: Verb
    var object: Participant?
    var recipient: Participant?
    var recipientFirstInEnglish = false
    var prepositional: (english: [String], german: [String])?
    var past: Bool
    var negated: Bool
    /// Time adverb: English words, German words, whether English puts it first.
    var time: (english: String, german: String, fronted: Bool)?

    var thirdSingular: Bool { subject.person == 2 }

    func englishVerb(question: Bool) -> (auxiliary: String?, main: String) {
        if negated || question {
            let aux = past ? "did" : (thirdSingular ? "does" : "do")
            return (negated ? aux + " not" : aux, verb.base)
        }
        return (nil, past ? verb.past : (thirdSingular ? verb.third : verb.base))
    }

    func englishRest() -> [String] {
        var words: [String] = []
        if let recipient, let object {
            if recipientFirstInEnglish {
                words += recipient.english(subject: false) + object.english(subject: false)
            } else {
                words += object.english(subject: false) + ["to"] + recipient.english(subject: false)
            }
        } else if let object {
            words += object.english(subject: false)
        }
        if let prepositional { words += prepositional.english }
        return words
    }

    func english(question: Bool = false) -> [String] {
        let (auxiliary, main) = englishVerb(question: question)
        var words: [String] = []
        if question {
            words = [auxiliary!] + subject.english(subject: true) + [main] + englishRest()
        } else {
            if let time, time.fronted { words += time.english.split(separator: " ").map(String.init) }
            words += subject.english(subject: true)
            if let auxiliary { words += auxiliary.split(separator: " ").map(String.init) }
            words.append(main)
            words += englishRest()
            if let time, !time.fronted { words += time.english.split(separator: " ").map(String.init) }
        }
        return words
    }

    /// The finite verb and the participle at the end (perfect tense).
    var germanVerb: (finite: String, participle: String?) {
        let person = subject.person
        if past { return ((verb.withSein ? sein : haben)[person], verb.participle) }
        return (verb.present[person], nil)
    }

    /// The middle field: pronoun object, time, dative object, accusative object or kein, nicht, PP.
    func germanMiddle(includeTime: Bool) -> [String] {
        var words: [String] = []
        let keinObject = negated && (object?.takesKein ?? false)
        if let object, object.isPronoun { words += object.german(.accusative) }
        if includeTime, let time { words += time.german.split(separator: " ").map(String.init) }
        if let recipient { words += recipient.german(.dative) }
        if let object, !object.isPronoun { words += object.german(.accusative, negated: keinObject) }
        if negated && !keinObject { words.append("nicht") }
        if let prepositional { words += prepositional.german }
        return words
    }

    /// A main clause (verb second) or a question (verb first).
    func germanMain(question: Bool = false) -> [String] {
        let (finite, participle) = germanVerb
        var words: [String] = []
        if question {
            words = [finite] + subject.german(.nominative) + germanMiddle(includeTime: false)
        } else if let time, time.fronted {
            words =
                time.german.split(separator: " ").map(String.init) + [finite] + subject.german(.nominative)
                + germanMiddle(includeTime: false)
        } else {
            words = subject.german(.nominative) + [finite] + germanMiddle(includeTime: true)
        }
        if let participle { words.append(participle) }
        return words
    }

    /// A subordinate clause: the finite verb last.
    func germanSubordinate() -> [String] {
        let (finite, participle) = germanVerb
        var words = subject.german(.nominative) + germanMiddle(includeTime: false)
        if let participle { words.append(participle) }
        words.append(finite)
        return words
    }
}

// MARK: - The generator

private struct SentenceGenerator {
    var rng: RandomGenerator

    mutating func chance(_ p: Double) -> Bool { rng.uniformDouble() < p }
    mutating func pick<T>(_ items: [T]) -> T { items[rng.int(below: items.count)] }

    mutating func phrase(_ fits: Category, allowAdjective: Bool = true) -> NounPhrase {
        let noun = pick(nouns.filter { !$0.category.isDisjoint(with: fits) })
        let determiner = pick(determiners)
        var plural = chance(0.3)
        if plural && determiner.englishPlural == nil { plural = false }
        let candidates = adjectives.filter { !$0.fits.isDisjoint(with: noun.category) }
        let adjective = allowAdjective && chance(0.3) && !candidates.isEmpty ? pick(candidates) : nil
        return NounPhrase(noun: noun, plural: plural, determiner: determiner, adjective: adjective)
    }

    mutating func participant(_ fits: Category, pronounChance: Double, avoidPerson: Int? = nil) -> Participant {
        if fits.contains(.person) && chance(pronounChance) {
            // "I see me", "we see us": a first or second person never acts on itself.
            return .pronoun(pick(pronouns.filter { !($0.person == avoidPerson && [0, 1, 3].contains($0.person)) }))
        }
        return .phrase(phrase(fits))
    }

    /// A clause with any verb but the saying ones.
    mutating func clause(allowTime: Bool) -> Clause {
        let verb = pick(verbs.filter { $0.kind != .saying })
        let subject = participant(verb.subjects, pronounChance: 0.35)
        var clause = Clause(subject: subject, verb: verb, past: chance(0.4), negated: false)
        var hasLocation = false
        switch verb.kind {
        case .transitive:
            clause.object = participant(verb.objects, pronounChance: 0.15, avoidPerson: subject.person)
            if chance(0.2) {
                clause.prepositional = location()
                hasLocation = true
            }
        case .ditransitive:
            clause.object = .phrase(phrase(verb.objects))
            clause.recipient = participant(.person, pronounChance: 0.3, avoidPerson: subject.person)
            clause.recipientFirstInEnglish = chance(0.5)
        case .intransitive:
            if chance(0.5) {
                let company = participant(.animate, pronounChance: 0.2, avoidPerson: subject.person)
                clause.prepositional = (["with"] + company.english(subject: false), ["mit"] + company.german(.dative))
            } else if chance(0.6) {
                clause.prepositional = location()
                hasLocation = true
            }
        case .motion:
            let place = phrase(.place)
            var german = ["in"] + place.german(.accusative)
            if german[1] == "das" { german = ["ins"] + german.dropFirst(2) }
            clause.prepositional = ([verb.base == "come" ? "into" : "to"] + place.english(), german)
        case .saying:
            break
        }
        // Negation is left out beside a location, where `nicht` would stand contrastively.
        clause.negated = !hasLocation && chance(0.2)
        if allowTime && chance(0.25) {
            let adverbs: [(String, String)] =
                clause.past
                ? [("yesterday", "gestern"), ("last week", "letzte Woche"), ("on Monday", "am Montag")]
                : [("today", "heute"), ("every day", "jeden Tag"), ("on Monday", "am Montag"), ("now", "jetzt")]
            let (english, german) = pick(adverbs)
            clause.time = (english, german, chance(0.5))
        }
        return clause
    }

    /// A location: the preposition with a dative noun phrase (in dem → im).
    mutating func location() -> (english: [String], german: [String]) {
        let preposition = pick(locations)
        let place = phrase(preposition.fits, allowAdjective: false)
        var german = [preposition.german] + place.german(.dative)
        if preposition.german == "in" && german.count >= 2 && german[1] == "dem" {
            german = ["im"] + german.dropFirst(2)
        }
        return ([preposition.english] + place.english(), german)
    }

    mutating func sentence() -> SentencePair {
        let roll = rng.uniformDouble()
        var english: [String], german: [String]
        if roll < 0.45 {
            let c = clause(allowTime: true)
            english = c.english() + ["."]
            german = c.germanMain() + ["."]
        } else if roll < 0.6 {
            var c = clause(allowTime: false)
            c.negated = false
            english = c.english(question: true) + ["?"]
            german = c.germanMain(question: true) + ["?"]
        } else if roll < 0.8 {
            let main = clause(allowTime: false), reason = clause(allowTime: false)
            english = main.english() + ["because"] + reason.english() + ["."]
            german = main.germanMain() + [",", "weil"] + reason.germanSubordinate() + ["."]
        } else {
            let sayer = participant(.person, pronounChance: 0.4)
            let saying = pick(verbs.filter { $0.kind == .saying })
            let main = Clause(subject: sayer, verb: saying, past: chance(0.3), negated: false)
            let content = clause(allowTime: false)
            english = main.english() + ["that"] + content.english() + ["."]
            german = main.germanMain() + [",", "dass"] + content.germanSubordinate() + ["."]
        }
        return SentencePair(source: Self.sentenceText(english), target: Self.sentenceText(german))
    }

    /// Words joined with spaces, punctuation attached, the first letter capitalised.
    static func sentenceText(_ words: [String]) -> String {
        var text = WordTokenizer.detokenize(words)
        if let first = text.first { text = first.uppercased() + text.dropFirst() }
        return text
    }
}
