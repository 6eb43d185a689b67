#!/usr/bin/python3
"""texts.py - seeded text generator for the kiosk dictation model (issue 6).

Every utterance is a pair (target, spoken): target is the contract's normal form (lowercase, single
spaces, only [a-z' 0-9], numbers spelled out as spoken); spoken is what the synthesizers are given
(identical except where a letter must be named, e.g. target "a m" is spoken "ay em").

Domains: numbers and digit strings, times, dates, money, directions and places, yes/no and
confirmations, menu/navigation commands, short dictated sentences (templates plus random phrases over
a frequency-ranked word list: GPT-2 encoder.json tokens "Gword" in id order, kept when the word is
in festival's CMU dictionary).

Train and test sentences come from different seeds; a test sentence is never a training sentence
(checked by set).  Usage: texts.py [--n-train N] [--n-test N] [--out DIR]  -> DIR/train.txt,
DIR/test.txt (target<TAB>spoken per line) and the vocabulary size on stdout.
"""
import argparse
import json
import os
import random
import re

ENCODER_JSON = "/work/shared/data/encoder.json"
CMUDICT = "/usr/share/festival/dicts/cmu/cmudict-0.4.out"

ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen " \
       "sixteen seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
ORD_ONES = "zeroth first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth " \
           "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth".split()
ORD_TENS = "_ _ twentieth thirtieth".split()
MONTHS = "january february march april may june july august september october november december".split()
DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()

SHORT_OK = set("a i an am as at be by do go he if in is it me my no of oh on or so to up us we ok ox".split())

PLACES = """pharmacy museum station platform gate terminal exit entrance elevator escalator stairs library
restroom toilet bathroom cafe cafeteria restaurant bakery bank hotel lobby reception parking garage airport
hospital clinic pharmacy school university park beach harbor market supermarket mall cinema theater stadium
office post police bus tram train subway taxi stand ticket counter information desk checkout lounge
kitchen garden bridge tower church square fountain playground gym pool court hall room floor level wing
building center north south east west left right upstairs downstairs corner street avenue road lane
highway boulevard plaza""".split()
STREETS = """main oak maple pine cedar elm park lake hill river church market high station king queen
washington lincoln jefferson madison franklin spring summer winter mill bridge forest meadow sunset
harbor victoria george""".split()
STREET_KIND = "street avenue road lane drive boulevard way place court".split()
NAMES = """john mary james linda robert susan michael karen david lisa daniel sarah paul nancy mark emma
peter anna thomas laura kevin julia brian helen george alice henry grace jack olivia oscar sophie
lucas mia noah ella adam zoe""".split()
ITEMS = """coffee tea water juice sandwich salad burger pizza soup bread ticket receipt map card bag
umbrella charger phone key wallet passport book newspaper magazine pen battery cable bottle cup
towel blanket pillow medicine bandage snack apple banana orange cookie muffin""".split()
COLORS = "red blue green yellow black white orange purple brown gray pink silver gold".split()
ADJ = """small large big little quick cold hot warm fresh new old cheap nice good better best early late
short long quiet busy open closed full empty next last nearest main extra regular""".split()

YESNO = ["yes", "no", "yeah", "nope", "yes please", "no thank you", "no thanks", "okay", "ok", "sure",
         "confirm", "cancel", "that's right", "that is correct", "that's wrong", "correct", "incorrect",
         "go ahead", "not now", "maybe later", "of course", "absolutely", "definitely not", "i agree",
         "i don't agree", "yes that's fine", "no that's not it", "please repeat that", "say that again",
         "i'm not sure", "exactly", "right", "wrong", "please continue", "stop", "wait", "hold on",
         "never mind", "that's all", "i'm done", "thank you", "thanks", "sounds good", "perfect",
         "all right", "yes i do", "no i don't", "yes it is", "no it isn't", "i accept", "i decline"]
MENU = ["go back", "go home", "next page", "previous page", "main menu", "open the menu", "close the menu",
        "scroll down", "scroll up", "open settings", "help", "show help", "change language",
        "print receipt", "print my ticket", "pay by card", "pay with cash", "start over", "start again",
        "show the map", "zoom in", "zoom out", "volume up", "volume down", "mute", "unmute",
        "show my order", "add to cart", "remove from cart", "check out", "sign in", "sign out", "log in",
        "log out", "search", "clear", "delete", "undo", "submit", "send", "call an assistant",
        "call for help", "show the schedule", "show departures", "show arrivals", "select", "skip",
        "read it again", "speak slower", "speak louder", "larger text", "smaller text", "exit",
        "turn on the light", "turn off the screen", "show options", "more options", "fewer options",
        "first page", "last page", "refresh", "save", "share", "open my account", "show my balance",
        "top up my card", "buy a ticket", "book a table", "reserve a room", "find a doctor",
        "cancel my order", "change my order", "track my order", "show today's menu", "order now"]


def load_words():
    """Frequency-ranked common words: GPT-2 tokens ' word' in id order that are in CMU dict."""
    cmu = set()
    with open(CMUDICT, encoding="latin-1") as f:
        for line in f:
            m = re.match(r'\("([a-z]+)" ', line)
            if m:
                cmu.add(m.group(1))
    with open(ENCODER_JSON) as f:
        enc = json.load(f)
    words, seen = [], set()
    for tok, _ in sorted(enc.items(), key=lambda kv: kv[1]):
        if not re.fullmatch("\u0120[a-z]+", tok):
            continue
        w = tok[1:]
        if w in seen or w not in cmu:
            continue
        if len(w) < 3 and w not in SHORT_OK:
            continue
        seen.add(w)
        words.append(w)
    return words


def num_words(n, use_and=False):
    """Cardinal 0 .. 999999 spelled out."""
    if n < 20:
        return ONES[n]
    if n < 100:
        t, o = divmod(n, 10)
        return TENS[t] + ("" if o == 0 else " " + ONES[o])
    if n < 1000:
        h, r = divmod(n, 100)
        s = ONES[h] + " hundred"
        if r:
            s += (" and " if use_and else " ") + num_words(r)
        return s
    th, r = divmod(n, 1000)
    s = num_words(th, use_and) + " thousand"
    if r:
        s += (" and " if (use_and and r < 100) else " ") + num_words(r, use_and)
    return s


def ordinal(n):
    """Ordinal 1 .. 31."""
    if n < 20:
        return ORD_ONES[n]
    t, o = divmod(n, 10)
    if o == 0:
        return ORD_TENS[t]
    return TENS[t] + " " + ORD_ONES[o]


def year_words(r, y):
    if 2000 <= y <= 2009 or (y >= 2010 and r.random() < 0.3):
        return num_words(y, r.random() < 0.5)
    hi, lo = divmod(y, 100)
    if lo == 0:
        return num_words(hi) + " hundred"
    if lo < 10:
        return num_words(hi) + " oh " + ONES[lo]
    return num_words(hi) + " " + num_words(lo)


def digits(r, k):
    zero = "oh" if r.random() < 0.3 else "zero"
    return " ".join(zero if d == 0 else ONES[d] for d in (r.randrange(10) for _ in range(k)))


def ampm(r):
    """(target, spoken) of a m / p m."""
    if r.random() < 0.5:
        return "a m", "ay em"
    return "p m", "pee em"


class Gen:
    def __init__(self, seed, words):
        self.r = random.Random(seed)
        self.words = words
        self.common = words[:2500]

    def number(self):
        r = self.r
        n = r.choice([r.randrange(20), r.randrange(100), r.randrange(1000), r.randrange(100000)])
        w = num_words(n, r.random() < 0.4)
        return r.choice(["{}", "number {}", "table {}", "room {}", "floor {}", "i need {} tickets",
                         "quantity {}", "platform {}", "gate {}", "bus {}", "seat {}", "{} people",
                         "about {} minutes", "{} items please", "aisle {}", "level {}", "{} percent"]).format(w)

    def digit_string(self):
        r = self.r
        k = r.choice([3, 4, 4, 5, 6, 7, 10])
        d = digits(r, k)
        return r.choice(["{}", "my pin is {}", "the code is {}", "my number is {}", "call {}",
                         "account {}", "order number {}", "booking reference {}", "zip code {}",
                         "extension {}", "card ending in {}"]).format(d)

    def time(self):
        r = self.r
        h = r.randint(1, 12)
        c = r.randrange(6)
        ap, sp = ampm(r)
        if c == 0:
            m = r.choice([0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, r.randint(1, 59)])
            if m == 0:
                t = num_words(h) + " o'clock"
                s = t
            elif m < 10:
                t = num_words(h) + " oh " + ONES[m]
                s = t
            else:
                t = num_words(h) + " " + num_words(m)
                s = t
            if r.random() < 0.6:
                t, s = t + " " + ap, s + " " + sp
        elif c == 1:
            t = r.choice(["quarter past", "quarter to", "half past", "ten past", "twenty to",
                          "five past", "ten to"]) + " " + num_words(h)
            s = t
        elif c == 2:
            t = r.choice(["noon", "midnight", "midday", "this morning", "this afternoon", "tonight",
                          "tomorrow morning", "in the evening", "in an hour", "in ten minutes"])
            s = t
        else:
            m = r.randrange(60)
            t = num_words(h) + ("" if m == 0 else (" oh " + ONES[m] if m < 10 else " " + num_words(m)))
            t, s = t + " " + ap, t + " " + sp
        tmpl = r.choice(["{}", "at {}", "the train leaves at {}", "set an alarm for {}",
                         "book it for {}", "my appointment is at {}", "meet me at {}",
                         "is it open at {}", "the store closes at {}", "departure at {}",
                         "remind me at {}", "what happens at {}"])
        return tmpl.format(t), tmpl.format(s)

    def date(self):
        r = self.r
        mo = r.choice(MONTHS)
        d = ordinal(r.randint(1, 31))
        c = r.randrange(5)
        if c == 0:
            t = mo + " " + d
        elif c == 1:
            t = "the " + d + " of " + mo
        elif c == 2:
            t = r.choice(DAYS) + " " + mo + " " + d
        elif c == 3:
            t = mo + " " + d + " " + year_words(r, r.randint(1950, 2035))
        else:
            t = r.choice(DAYS + ["today", "tomorrow", "next week", "next " + r.choice(DAYS),
                                 "this " + r.choice(DAYS), "last " + r.choice(DAYS)])
        return r.choice(["{}", "on {}", "my birthday is {}", "book a room for {}", "is it open on {}",
                         "the event is on {}", "i arrive {}", "check out on {}", "the deadline is {}",
                         "from {}", "until {}", "starting {}"]).format(t)

    def money(self):
        r = self.r
        cur = r.choice(["dollars", "dollars", "euros", "pounds"])
        sub = {"dollars": "cents", "euros": "cents", "pounds": "pence"}[cur]
        a = r.choice([r.randint(1, 20), r.randint(1, 100), r.randint(1, 2000)])
        c = r.randrange(4)
        if c == 0:
            t = num_words(a, r.random() < 0.4) + " " + cur
        elif c == 1:
            t = num_words(a) + " " + cur + " and " + num_words(r.randint(1, 99)) + " " + sub
        elif c == 2:
            t = num_words(a) + " " + num_words(r.randint(10, 99))
        else:
            t = num_words(r.randint(1, 99)) + " " + sub
        return r.choice(["{}", "that costs {}", "it's {}", "the total is {}", "i'll pay {}",
                         "add {} to my card", "withdraw {}", "the fare is {}", "your change is {}",
                         "it costs {} per person", "top up {}"]).format(t)

    def direction(self):
        r = self.r
        p = r.choice(PLACES)
        st = r.choice(STREETS) + " " + r.choice(STREET_KIND)
        n = num_words(r.randint(1, 40))
        return r.choice([
            "where is the {p}", "where is the nearest {p}", "take me to the {p}", "how do i get to the {p}",
            "turn left at the {p}", "turn right after the {p}", "go straight past the {p}",
            "the {p} is on your left", "the {p} is on your right", "the {p} is upstairs",
            "walk to {st}", "i'm on {st}", "how far is {st}", "take the second left onto {st}",
            "the {p} is next to the {q}", "is there a {p} near {st}", "directions to gate {n}",
            "go to platform {n}", "the {p} is on floor {n}", "which way to the {p}",
            "show me the way to the {p}", "is the {p} open", "the {p} is closed",
            "follow the signs to the {p}", "cross the {q} and turn {lr}", "go {nsew} for {n} minutes",
            "it's {n} minutes from here", "meet me at the {p} on {st}", "turn {lr} at {st}"]).format(
                p=p, q=r.choice(PLACES), st=st, n=n, lr=r.choice(["left", "right"]),
                nsew=r.choice(["north", "south", "east", "west"]))

    def dictated(self):
        r = self.r
        c = r.randrange(3)
        if c == 0:
            k = r.randint(3, 8)
            return " ".join(r.choice(self.common) for _ in range(k))
        if c == 1:
            k = r.randint(2, 5)
            w = [r.choice(self.words[:1200]) for _ in range(k)]
            w.insert(r.randrange(len(w) + 1), r.choice(self.common))
            return " ".join(w)
        return r.choice([
            "i would like a {a} {i}", "can i have {n} {i} please", "my name is {nm}",
            "please send a message to {nm}", "tell {nm} i will be late", "i lost my {i}",
            "i'm looking for a {c} {i}", "do you have a {a} {i}", "where can i buy a {i}",
            "i'd like to order a {i} and a {i2}", "{nm} is waiting at the {p}", "is this seat free",
            "my {i} is not working", "i need a {a} {i}", "can you help me find my {i}",
            "how much is the {i}", "the {i} is {c}", "please call {nm}", "my friend {nm} is coming",
            "i want to {w} the {w2}", "the {w} is {a}", "we {w} a {a} {w2}", "could you {w} my {i}",
            "this is {nm} speaking", "i think the {w} was {a}", "let's {w} the {i} later",
            "don't forget the {i}", "what's the {w} of the {w2}", "it was a {a} {w}"]).format(
                a=r.choice(ADJ), i=r.choice(ITEMS), i2=r.choice(ITEMS), n=num_words(r.randint(1, 12)),
                nm=r.choice(NAMES), c=r.choice(COLORS), p=r.choice(PLACES),
                w=r.choice(self.common), w2=r.choice(self.common))

    def one(self):
        r = self.r
        k = r.choices(["number", "digits", "time", "date", "money", "direction", "yesno", "menu", "dict"],
                      weights=[8, 8, 10, 9, 8, 14, 6, 8, 29])[0]
        if k == "number":
            t = self.number()
        elif k == "digits":
            t = self.digit_string()
        elif k == "time":
            return self.time()
        elif k == "date":
            t = self.date()
        elif k == "money":
            t = self.money()
        elif k == "direction":
            t = self.direction()
        elif k == "yesno":
            t = r.choice(YESNO)
            if r.random() < 0.4:
                t2 = self.one()
                return t + " " + t2[0], t + " " + t2[1]
        elif k == "menu":
            t = r.choice(MENU)
            if r.random() < 0.3:
                t += " " + r.choice(["please", "now", "again", "for me"])
        else:
            t = self.dictated()
        return t, t


def normal_form_ok(t):
    return re.fullmatch(r"[a-z'0-9]+( [a-z'0-9]+)*", t) is not None


def generate(seed, n, words, exclude=frozenset(), max_words=14, min_words=1):
    g = Gen(seed, words)
    out, seen = [], set()
    tries = 0
    while len(out) < n and tries < n * 50:
        tries += 1
        t, s = g.one()
        if not min_words <= len(t.split()) <= max_words or len(t) > 90:
            continue
        assert normal_form_ok(t), t
        if t in exclude:
            continue
        # frequent short phrases ("yes", "go back") may repeat a few times, long ones not
        if t in seen and (len(t.split()) > 2 or g.r.random() < 0.8):
            continue
        seen.add(t)
        out.append((t, s))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-train", type=int, default=24000)
    ap.add_argument("--n-test", type=int, default=400)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "work"))
    a = ap.parse_args()
    words = load_words()
    test = generate(20261124, a.n_test, words, min_words=4)
    test_set = {t for t, _ in test}
    # held-out test: no single-word or two-word phrases, which would unavoidably recur in training
    train = generate(1, a.n_train, words, exclude=frozenset(test_set))
    assert not (test_set & {t for t, _ in train})
    vocab = set()
    for t, _ in train:
        vocab.update(t.split())
    os.makedirs(a.out, exist_ok=True)
    for name, rows in (("train.txt", train), ("test.txt", test)):
        with open(os.path.join(a.out, name), "w") as f:
            for t, s in rows:
                f.write(t + "\t" + s + "\n")
    test_vocab = set(w for t in test_set for w in t.split())
    print("train utterances", len(train), "test", len(test), "train vocabulary", len(vocab),
          "test words not in train", len(test_vocab - vocab))


if __name__ == "__main__":
    main()
