"""English function words the reader needs: negation, comparison, counting, periods, asking.

These are words of the language, not of any domain: no category, product or unit is named here. Everything a
domain means (its values, units, synonyms, cheap/expensive words) comes from its data and config.
"""

from __future__ import annotations

import re

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

NEGATORS = re.compile(
    r"\b(?:no|not|without|except|excluding|hate[sd]?|dislike[sd]?|didn'?t like|did not like|can'?t stand|avoid|"
    r"none of|anything but|nothing|don'?t want|do not want|don'?t like|do not like|never|isn'?t|aren'?t|"
    r"but no|minus|skip|rather than|instead of)\b(?:\s+(?:a|an|the|any|more|too|so|very|much|many|with|by|from|in|of|"
    r"like|that'?s|that is|made by|featuring|about|really|overly))*\s*$", re.I)
NEGATION_RESET = re.compile(r"\b(?:but|and|yet|though|although|however|rather)\b(?:\s+(?:a|an|some|more|also))*\s*$",
                            re.I)

COUNT_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
               "ten": 10, "eleven": 11, "twelve": 12, "a couple of": 2, "a couple": 2, "a pair of": 2, "a few": 3,
               "several": 5, "a dozen": 12, "half a dozen": 6}
DECADE_WORDS = {"twenties": 20, "thirties": 30, "forties": 40, "fifties": 50, "sixties": 60, "seventies": 70,
                "eighties": 80, "nineties": 90}

AT_MOST = r"under|below|beneath|less than|lower than|cheaper than|shorter than|fewer than|smaller than|at most|up to|" \
          r"no more than|not more than|not over|max(?:imum)?|within|<=|<|≤"
AT_LEAST = r"over|above|more than|greater than|higher than|longer than|bigger than|larger than|at least|" \
           r"no less than|not less than|min(?:imum)?|>=|>|≥"
ABOUT = r"around|about|approximately|close to|near|~"
BEFORE = r"before|prior to|older than|earlier than|pre|until|till|up to|up until|no later than"
AFTER = r"after|since|newer than|later than|post|from after|no earlier than|starting|beginning"

RECENT = re.compile(r"\b(?:recent(?:ly)?|new(?:est|er)?|latest|brand[- ]new|fresh|modern|current|this year|"
                    r"(?:the )?last (?:few|couple of|\d+) years)\b", re.I)
OLD = re.compile(r"\b(?:old(?:er|est)?|vintage|classic)\b", re.I)

ASKING = re.compile(r"^\s*(how many|how much|what|when|who|which|where|is|are|does|did|was|were|tell me about|"
                    r"can you tell)\b", re.I)
ASKS_FOR_RECS = re.compile(r"\b(recommend|suggest|should i|any good|give me|show me|find me|looking for|"
                           r"(?:sounds?|feels?|looks?) like|similar to|who else|what else)\b", re.I)
REC_WORDS = re.compile(r"\b(recommend|suggest|looking for|look for|find|want|show me|give me|something|any good|"
                       r"what should i|in the mood|similar|like|options|ideas|more|need|prefer)\b", re.I)

CHIT_CHAT = {
    "identity": re.compile(r"\b(who are you|what are you|what can you do|how do(?:es)? (?:this|it|you) work|"
                           r"help me use)\b", re.I),
    "thanks": re.compile(r"^\W*(?:(?:oh|omg|ok(?:ay)?|great|cool|nice|awesome|perfect|wow|lovely)\W+)*"
                         r"(thanks?|thank (?:you|u)|thx|ty|cheers|bye|goodbye|see you|that'?s all)\b|"
                         r"^\W*(?:cool|nice|great|awesome|perfect|ok(?:ay)?|lovely|wow|sweet)\W*$", re.I),
    "greeting": re.compile(r"^\W*(hi|hello|hey|hiya|howdy|good (?:morning|afternoon|evening)|how are you|yo)\b[\W]*"
                           r"(?:there|again|friend|bot)?[\W]*$", re.I),
}

FRESH_START = re.compile(r"\b(something (?:completely |totally )?(?:different|else)|instead|forget (?:that|it|about)|"
                         r"new request|start over|another (?:kind|type))\b", re.I)

# words that carry no condition: the language's function words and the request verbs around conditions
FUNCTION = frozenset(ENGLISH_STOP_WORDS) | frozenset(
    ["i'm", "im", "i've", "i'd", "i'll", "want", "wants", "wanted", "need", "needs", "like", "likes", "liked", "love", "loved", "enjoy", "enjoyed", "prefer", "looking", "look", "find", "show", "give", "get", "recommend", "recommendation", "recommendations", "suggest", "suggestion", "suggestions", "please", "thanks", "thank", "maybe", "perhaps", "really", "just", "kind", "sort", "type", "bit", "little", "lot", "lots", "good", "great", "nice", "best", "top", "ones", "one", "similar", "same", "different", "another", "people",
     "didn", "doesn", "don", "isn", "aren", "wasn", "weren", "haven", "hasn", "couldn", "wouldn", "shouldn", "won",
     # words about the conversation itself ("no, those don't fit, try another idea"), never about an item
     "try", "tried", "trying", "idea", "ideas", "fit", "fits", "option", "options", "choice", "choices", "stuff",
     "things", "ok", "okay", "yes", "yeah", "instead", "suggestion", "suggestions",
     # chat shorthand
     "pls", "plz", "u", "ur", "omg", "idk", "tho", "btw", "imo", "thx", "ty"])

MONTHS = {m: i for i, m in enumerate(["january", "february", "march", "april", "may", "june", "july", "august",
                                       "september", "october", "november", "december"], 1)}
