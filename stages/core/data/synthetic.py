"""A deterministic synthetic corpus in the KardiaBench record schema: the offline default dataset.

KardiaBench itself is gated, so the pipeline trains and evaluates on this stand-in by default.
It copies the real corpus's *shape* (persona profile, four-span assistant turns, the reviewer's
FAIL / PASS / SOLVED trace that drives the easy/hard curriculum [paper]) at a size a 0.5-4M
parameter model with a ~512-token window can learn in minutes.

What makes it learnable
    * The gold emotion is recoverable from the user's words: the label word, one of four
      paraphrases written for that label alone, or a situation template of that label (only
      ``AMBIGUOUS_IMPLIED_RATE`` of implied openings are ambiguous, and their follow-up turns
      carry label-specific details). The assistant turn is a fixed recipe (understanding ->
      reasoning -> emotion -> response) whose slots are copied from the context (persona facts
      from the system prompt, the event from the user turn).
    * Persona facts are short concrete nouns ("nurse", "rock climbing", "my cat Miso") that the
      response quotes verbatim, so persona consistency is a copy skill, not world knowledge.

What makes it hard
    * Cue difficulty: 40% of dialogues name the label ("honestly I'm just anxious"), 30% only
      paraphrase it ("my stomach is in knots") and 30% only imply it through the situation.
      Keyword matching solves the first kind, not the other two.
    * Confusable labels: each cluster in ``_CLUSTERS`` (anxious / apprehensive / afraid /
      terrified, angry / annoyed / furious, nostalgic / sentimental, ...) has situations that
      differ in a few words of intensity or time.
    * The situation is not a lookup key: half the named or paraphrased feelings sit on a
      sibling label's situation (``SHARED_SITUATIONS``: "I have a job interview tomorrow ...
      Honestly, I'm just apprehensive"), so the same event appears under several labels and a
      model must read the cue when there is one, and the situation only when there is none.
    * Distractors in ~30% of dialogues: another label word that is negated ("I'm not angry,
      to be clear") or belongs to someone else ("my sister seemed excited, not me"). Half the
      time it comes from the gold label's own cluster.
    * Slot filling (people, places, objects, times), several templates per span and per-turn
      persona-fact rotation keep surface strings varied, so memorising strings does not carry
      over to held-out personas: those are new combinations of the same fact pools, and the
      response must copy *their* facts.
    * The reviewer trace is noisy: P(FAIL) depends on the cue level plus per-dialogue noise, so
      under the paper's rule explicit/paraphrase dialogues are mostly easy and implied ones
      mostly hard, but not perfectly.

Everything is a pure function of the arguments: one ``random.Random(seed)`` draws every choice
in a fixed order (personas first, then dialogues one after another), so a corpus of N dialogues
is a prefix of a corpus of N+k with the same other arguments.

Table hygiene (checked by tests/unit/test_synthetic.py): no user-facing template or persona fact
contains any of the 32 label words, so a label word in a user turn is always a deliberate cue or
a deliberate distractor.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from stages.core.format import ResponseFormat
from stages.core.labels import EMOTIONS

# ---------------------------------------------------------------------------------------------
# Corpus-level knobs [ours]. The paper publishes none of these; they are chosen so the three cue
# levels land mostly, not perfectly, on the easy/hard sides of the curriculum rule.
# ---------------------------------------------------------------------------------------------

CUE_WEIGHTS = {"explicit": 0.4, "paraphrase": 0.3, "implied": 0.3}
DISTRACTOR_RATE = 0.3
SAME_CLUSTER_DISTRACTOR = 0.5  # a distractor from the gold label's cluster is the hard kind
RESTATE_RATE = 0.35  # a follow-up user turn restates the feeling at another cue level
# A named or paraphrased feeling may sit on a sibling label's situation ("I have an interview
# tomorrow. Honestly, I'm just apprehensive."), so situation -> label is not a lookup table and
# the cue must be read. A few implied openings do the same: there the first turn is genuinely
# ambiguous within the pair and only later turns (the gold label's own details) settle it.
BORROW_RATE = 0.5
AMBIGUOUS_IMPLIED_RATE = 0.15
# Reviewer R: per assistant turn FAIL with P_FAIL[cue] (+ per-dialogue noise); a non-FAIL turn
# is SOLVED (ending the dialogue) with P_SOLVED[cue]. Implied cues are hard for the assistant.
P_FAIL = {"explicit": 0.15, "paraphrase": 0.35, "implied": 0.7}
P_FAIL_NOISE = 0.08  # s.d. of the per-dialogue shift
P_SOLVED = {"explicit": 0.45, "paraphrase": 0.3, "implied": 0.15}

# Natural imbalance [paper: caring / hopeful / grateful frequent]; the rest is [ours].
EMOTION_WEIGHTS = {e: 1.0 for e in EMOTIONS} | {
    "caring": 3.0, "hopeful": 3.0, "grateful": 3.0,
    "anxious": 1.5, "sad": 1.5, "proud": 1.5, "excited": 1.5, "lonely": 1.5,
}

# Word budgets. The model sees ~512 tokens; the paper's spans are far longer (41/53/27 words),
# ours are cut to fit system prompt + history + one turn.
MAX_USER_WORDS = 30
MAX_SPAN_WORDS = {"understanding": 22, "reasoning": 22, "response": 30}
MAX_ASSISTANT_WORDS = 70  # all four spans together; reasoning and response share what is left

THIRD = {"sub": "they", "pos": "their", "obj": "them"}  # how the assistant's analysis refers to the user
SECOND = {"sub": "you", "pos": "your", "obj": "you"}  # how the reply addresses them; same verb forms

# ---------------------------------------------------------------------------------------------
# Persona tables. Every fact is a concrete noun phrase so a response can quote it.
# ---------------------------------------------------------------------------------------------

MBTI_TRAITS = {  # two short verb phrases per type: "As an INFJ who <trait>, they ..."
    "INTJ": ("plans everything carefully", "likes to understand why"),
    "INTP": ("analyzes before reacting", "thinks things through alone"),
    "ENTJ": ("likes to take charge", "sets high goals"),
    "ENTP": ("thrives on new ideas", "talks things out"),
    "INFJ": ("feels things deeply", "reads people closely"),
    "INFP": ("holds strong inner values", "feels everything intensely"),
    "ENFJ": ("puts others first", "looks out for everyone"),
    "ENFP": ("brings warmth and enthusiasm", "follows their heart"),
    "ISTJ": ("values order and duty", "takes promises seriously"),
    "ISFJ": ("quietly looks after others", "remembers small kindnesses"),
    "ESTJ": ("likes clear plans", "values doing things right"),
    "ESFJ": ("keeps people connected", "notices how others feel"),
    "ISTP": ("solves problems hands-on", "stays cool in the moment"),
    "ISFP": ("values quiet beauty", "feels through the senses"),
    "ESTP": ("acts fast and boldly", "lives in the moment"),
    "ESFP": ("loves sharing good times", "lights up around people"),
}
MBTI_TYPES = tuple(MBTI_TRAITS)

OCCUPATIONS = (  # (with article, what the job trains you to do: "you know how to <skill>")
    ("a nurse", "stay steady under pressure"), ("a teacher", "stay patient with people"),
    ("a software developer", "break big problems down"), ("a barista", "keep calm through a rush"),
    ("an electrician", "work one careful step"), ("a paramedic", "stay calm in a crisis"),
    ("a librarian", "find order in chaos"), ("a chef", "get through a hectic night"),
    ("a graphic designer", "find a fresh angle"), ("an accountant", "take things line by line"),
    ("a firefighter", "face hard moments head on"), ("a veterinarian", "comfort someone who cannot explain"),
    ("a carpenter", "measure twice and cut once"), ("a bus driver", "keep going through long days"),
    ("a pharmacist", "pay attention to small details"), ("a social worker", "hold space for hard feelings"),
    ("a physics student", "work through hard problems"), ("a mechanic", "find what is really wrong"),
    ("a photographer", "notice the good"), ("a dental hygienist", "put nervous people at ease"),
    ("a park ranger", "stay grounded outdoors"), ("a data analyst", "look at things calmly"),
    ("a baker", "be patient while things rise"), ("a translator", "find the right words"),
    ("a music teacher", "practice through the hard parts"), ("a warehouse supervisor", "keep a team moving"),
    ("a retail manager", "handle difficult days"), ("an architect", "build something step by step"),
    ("a journalist", "ask the right questions"), ("a preschool teacher", "stay gentle on chaotic days"),
)

HOBBIES = (  # gerund phrases: "some time <hobby>", "who loves <hobby>"
    "rock climbing", "baking sourdough", "knitting scarves", "playing guitar", "birdwatching",
    "trail running", "painting watercolors", "playing chess", "gardening", "swimming laps",
    "cooking curries", "practicing yoga", "reading sci-fi novels", "fixing old bikes", "making pottery",
    "playing board games", "woodworking", "hiking", "journaling", "playing the piano", "cycling",
    "fishing", "salsa dancing", "building model trains", "brewing kombucha", "growing tomatoes",
    "skateboarding", "doing crosswords", "sketching buildings", "kayaking",
)

PET_KINDS = ("cat", "dog", "rabbit", "parrot", "hamster", "tortoise")
PET_NAMES = ("Miso", "Biscuit", "Pepper", "Mochi", "Juniper", "Tofu", "Maple", "Ziggy", "Olive",
             "Pickles", "Nori", "Waffles", "Pretzel", "Clover")

RECENT = (  # (profile line, first person; the same deed addressed to the user)
    ("Ran my first half marathon", "ran your first half marathon"), ("Repainted my kitchen", "repainted your kitchen"),
    ("Started learning Spanish", "started learning Spanish"), ("Went camping by a lake",
                                                               "went camping by the lake"),
    ("Finished a giant jigsaw puzzle", "finished that giant jigsaw puzzle"),
    ("Planted a herb garden", "planted your herb garden"), ("Took a pottery class",
                                                            "took that pottery class"),
    ("Moved to a new apartment", "moved into your new apartment"),
    ("Read three novels in a week", "read three novels"),
    ("Visited my grandparents' village", "visited your grandparents' village"),
    ("Signed up for a coding bootcamp", "signed up for that bootcamp"), ("Hosted a game night",
                                                                         "hosted game night"),
    ("Fixed my own car brakes", "fixed your own car brakes"),
    ("Volunteered at an animal shelter", "volunteered at the shelter"),
    ("Baked a birthday cake from scratch", "baked that cake from scratch"),
    ("Went to my first concert in years", "went to that concert"),
    ("Started a morning walking routine", "started your morning walks"),
    ("Built a bookshelf", "built that bookshelf"), ("Tried paddleboarding", "tried paddleboarding"),
    ("Cleared out my garage", "cleared out your garage"), ("Learned to make dumplings",
                                                           "learned to make dumplings"),
    ("Joined a choir", "joined the choir"), ("Hiked to a mountain summit", "hiked to that summit"),
    ("Started therapy", "started therapy"), ("Got a new bike", "got your new bike"),
)

SIGNATURES = (
    "One step at a time.", "Be kind, it's free.", "Coffee first, then the world.", "Stay curious.",
    "Small steps still count.", "Leave it better than you found it.", "Bloom where you're planted.",
    "Progress, not perfection.", "Breathe in, breathe out.", "Keep it simple.", "Wander often.",
    "Less noise, more music.", "Do the next right thing.", "Every day is a fresh page.",
    "Tea solves most things.", "Stay weird, stay kind.", "The view is worth the climb.",
    "Slow is smooth, smooth is fast.", "Say yes to small adventures.", "Listen more than you speak.",
    "Good things take time.", "Keep your heart open.", "Work hard, rest harder.", "Plant seeds, be patient.",
    "Chase sunsets.", "Fall seven times, stand up eight.", "Home is people.", "Curiosity over comfort.",
)

ABOUT_TEMPLATES = (
    "I'm {a_occ} who loves {hobbies}.",
    "I work as {a_occ}. Most weekends you'll find me {hobbies}.",
    "I'm {a_occ} by trade, and I'm really into {hobbies}.",
    "{A_occ} here. Outside work I spend my time {hobbies}.",
)
PET_SENTENCES = (" I live with my {kind} {name}.", " My {kind} {name} runs the house.")

# ---------------------------------------------------------------------------------------------
# Slot fillers shared by the situation templates. Templates write "{person}" for a shared list,
# "{x=a|b|c}" to choose and bind x (so the gist can repeat it) and "{a|b}" for an unnamed choice.
# ---------------------------------------------------------------------------------------------

SLOTS = {
    "person": ("sister", "brother", "best friend", "roommate", "coworker", "neighbor", "mom", "dad",
               "partner", "cousin", "grandma", "uncle", "aunt", "old friend", "teammate"),
    "when": ("yesterday", "last night", "this morning", "last weekend", "earlier today", "on Friday"),
    "soon": ("tomorrow", "on Monday", "next week", "this Friday", "in two days"),
}


@dataclass(frozen=True)
class Emotion:
    """Everything the generator knows about one label.

    ``scenarios`` are (user sentence, gist) pairs: the sentence implies the label on its own (the
    implied cue); the gist is the same event as a clause with {sub}/{pos}/{obj} pronouns, said
    about the user ("they"/"their") in the analysis and to them ("you"/"your") in the reply.
    ``details`` are the same for follow-up turns. ``paraphrases`` say the feeling without the word.
    ``validations`` are reply sentences around a gist clause.
    """

    group: str  # tone of the reply: "low" (distress), "high" (delight), "warm" (tender / forward-looking)
    paraphrases: tuple[str, ...]
    scenarios: tuple[tuple[str, str], ...]
    details: tuple[tuple[str, str], ...]
    appraisals: tuple[str, ...]  # verb phrases after "they"
    needs: tuple[str, ...]  # noun phrases: "they need <need>"
    validations: tuple[str, ...]  # contain "{gist}"
    explicit: tuple[str, ...] = ()  # label-specific ways of naming it, for labels that are not adjectives


E = Emotion
TABLE: dict[str, Emotion] = {
    "afraid": E(
        "low",
        ("my heart was pounding the whole time", "I couldn't stop shaking", "a chill ran down my spine",
         "I just wanted to run and hide"),
        (("Footsteps followed me on a dark {loc=trail|street|parking lot} {when}, and nobody was there.",
          "{sub} heard footsteps on a dark {loc}"),
         ("A huge dog lunged at me on my walk {when} and its owner just laughed.",
          "a dog lunged at {obj} on {pos} walk"),
         ("The smoke alarm went off at night and I couldn't find where the smell was coming from.",
          "{pos} smoke alarm went off at 3am"),
         ("Someone tried the handle of my front door {when} while I was home alone.",
          "someone tried {pos} door while {sub} were alone")),
        (("I slept with the hallway light on.", "{sub} slept with the hallway light on"),
         ("I keep jumping at every little noise.", "{sub} keep jumping at every noise"),
         ("I didn't want to walk anywhere alone today.", "{sub} avoided walking alone today")),
        ("sense a threat they could not control", "feel unsafe where they should be safe"),
        ("a sense of safety", "calm, steady reassurance"),
        ("It's normal to feel shaken when {gist}.", "Anyone would feel rattled when {gist}."),
    ),
    "angry": E(
        "low",
        ("I'm really fired up about it", "that made my blood boil", "I nearly snapped at everyone",
         "I'm seeing red a bit"),
        (("My {person} read my private messages {when} and acted like it was no big deal.",
          "{pos} {person} read {pos} private messages"),
         ("My landlord kept my whole deposit over a scratch that was already there.",
          "{pos} landlord kept {pos} whole deposit unfairly"),
         ("A coworker took credit for my project in front of the whole team {when}.",
          "a coworker took credit for {pos} project"),
         ("Someone keyed my car in the {lot=grocery store|gym|office} parking lot {when}.",
          "someone keyed {pos} car at the {lot}")),
        (("They haven't even apologized.", "nobody has apologized"),
         ("I keep rehearsing what I should have said.", "{sub} keep rehearsing what to say"),
         ("It's the second time this has happened.", "it has happened twice now")),
        ("see a clear unfairness done to them", "feel their boundaries were crossed on purpose"),
        ("to feel heard first", "validation and a next step"),
        ("It's fair to be fired up when {gist}.", "That crosses a line; {gist}."),
    ),
    "annoyed": E(
        "low",
        ("it's getting on my last nerve", "I'm so over it", "it's driving me up the wall",
         "I keep rolling my eyes"),
        (("My upstairs neighbor has been vacuuming at midnight every night this week.",
          "{pos} neighbor vacuums at midnight every night"),
         ("The {thing=printer|wifi|dishwasher} broke again and I spent all morning on hold with support.",
          "{sub} spent all morning on hold about the {thing}"),
         ("My {person} keeps leaving dirty dishes in the sink for me to wash.",
          "{pos} {person} keeps leaving dishes for {obj}"),
         ("Someone in my meeting kept talking over me {when}.",
          "someone kept talking over {obj} in a meeting")),
        (("They act like I'm the problem for mentioning it.", "they act like {sub} are the problem"),
         ("It's small, but it's every single day.", "it happens every single day"),
         ("I've asked nicely twice already.", "{sub} already asked nicely twice")),
        ("face a small but constant disruption", "feel their patience being worn down"),
        ("room to vent", "a practical fix and humor"),
        ("Small things add up, especially when {gist}.", "Anyone's patience would thin when {gist}."),
    ),
    "anticipating": E(
        "warm",
        ("I've been counting down the days", "I already packed a week early",
         "I keep picturing how it will go",
         "the wait feels so long"),
        (("My {person} lands {soon} after two years abroad, and I've planned the whole day.",
          "{pos} {person} returns {soon}"),
         ("Our band plays its first real show {soon}; I keep imagining the crowd.",
          "{pos} band plays its first show {soon}"),
         ("The trip to {place=Lisbon|Kyoto|the coast} I've been saving for starts {soon}.",
          "{pos} trip to {place} starts {soon}"),
         ("My {person}'s baby is due any day now, and my bag is by the door.",
          "{pos} {person}'s baby is due any day")),
        (("I've already made a playlist for it.", "{sub} already made a playlist for it"),
         ("I keep checking the date on my phone.", "{sub} keep checking the date"),
         ("I've told everyone the date.", "{sub} told everyone the date")),
        ("are looking toward something meaningful ahead", "feel the wait as much as the event"),
        ("someone to share the countdown", "ways to enjoy the waiting"),
        ("No wonder the days feel long when {gist}.", "Waiting is sweet when {gist}."),
        explicit=("I'm anticipating it like crazy.", "I keep anticipating every moment of it."),
    ),
    "anxious": E(
        "low",
        ("my stomach is in knots", "I can't quiet my mind", "my chest feels tight all day",
         "I keep expecting the worst"),
        (("I have a {ev=job interview|driving test|thesis defense} {soon} and keep replaying every question.",
          "{sub} have a {ev} {soon}"),
         ("My {person} hasn't answered my texts since this morning and I keep checking my phone.",
          "{pos} {person} hasn't answered since this morning"),
         ("The doctor's office called and asked me to come back in about my test results.",
          "the doctor asked {obj} to come back about results"),
         ("Rent is due {soon} and my paycheck is late again.", "rent is due and {pos} paycheck is late")),
        (("I barely slept last night.", "{sub} barely slept"),
         ("I've rewritten my to-do list four times.", "{sub} rewrote the to-do list four times"),
         ("Every notification makes my heart jump.", "every notification makes {pos} heart jump")),
        ("are stuck in uncertainty about what's next", "keep bracing for an uncontrollable outcome"),
        ("grounding and a small plan", "reassurance and one small focus"),
        ("Uncertainty is hard to sit with when {gist}.", "Of course your mind races when {gist}."),
    ),
    "apprehensive": E(
        "low",
        ("I have a bad feeling about it", "I doubt this is a good idea", "something about it feels off",
         "I keep dragging my feet"),
        (("I agreed to lend my {person} a lot of money, and now I'm second-guessing it.",
          "{sub} agreed to lend {pos} {person} money"),
         ("I start a new job {soon} at a company with pretty mixed reviews.",
          "{sub} start an iffy new job {soon}"),
         ("My surgery is {soon} and I still have questions nobody answered.",
          "{pos} surgery is {soon} with questions unanswered"),
         ("I'm meeting my partner's parents {soon}, and I hear they're hard to please.",
          "{sub} meet {pos} partner's parents {soon}")),
        (("I keep listing everything that could go wrong.", "{sub} keep listing what could go wrong"),
         ("Part of me wants to cancel.", "part of {obj} wants to cancel"),
         ("I already asked three people for advice.", "{sub} already asked three people for advice")),
        ("sense a risk ahead and doubt their choice", "feel uneasy about something already set"),
        ("a chance to weigh their doubts", "clear information and reassurance"),
        ("Hesitating makes sense when {gist}.", "It's wise to listen to doubts when {gist}."),
    ),
    "ashamed": E(
        "low",
        ("I can't look at myself right now", "I keep thinking I'm a bad person", "I wish I could disappear",
         "I feel so small about it"),
        (("I lied to my {person} about where I was {when}, and they found out.",
          "{sub} lied to {pos} {person} and got caught"),
         ("I lost my temper and yelled at a cashier over nothing {when}.",
          "{sub} yelled at a cashier over nothing"),
         ("I failed my exam after telling everyone I'd barely need to study.",
          "{sub} failed an exam after bragging"),
         ("I drank too much {ev=at the office party|at a family wedding} and said some awful things.",
          "{sub} said awful things {ev}")),
        (("I haven't been able to face anyone since.", "{sub} haven't faced anyone since"),
         ("That isn't who I want to be.", "it isn't who {sub} want to be"),
         ("I keep replaying my own voice.", "{sub} keep replaying it")),
        ("judge themselves harshly against their values", "see one mistake as a character flaw"),
        ("compassion without excuses", "a way to repair it"),
        ("Owning it when {gist} takes courage.", "Feeling low since {gist} shows you care."),
    ),
    "caring": E(
        "warm",
        ("I just want to look after them", "my heart goes out to them", "I'd do anything to help",
         "I keep checking in on them"),
        (("My {person} has the flu, so I've been bringing soup and running errands for them.",
          "{sub} have been looking after {pos} sick {person}"),
         ("My elderly neighbor lives alone, so I've started doing her grocery runs.",
          "{sub} do grocery runs for an elderly neighbor"),
         ("My {person} just went through a rough breakup, so I'm staying over to keep them company.",
          "{sub} are staying with {pos} heartbroken {person}"),
         ("I found a stray kitten in the rain {when} and stayed up feeding it.",
          "{sub} stayed up feeding a stray kitten")),
        (("I even made a little care package.", "{sub} made a care package"),
         ("I set reminders to check on them each day.", "{sub} set daily check-in reminders"),
         ("I rearranged my whole week to be there.", "{sub} rearranged the week to help")),
        ("are putting someone else's wellbeing first", "show love through practical help"),
        ("recognition and a reminder to rest", "appreciation for their kindness"),
        ("It's lovely that {gist}.", "Not everyone shows up like that, and {gist}."),
    ),
    "confident": E(
        "high",
        ("I know I've got this", "I'm walking in with my head high", "nothing about it shakes me",
         "I believe in my own skills here"),
        (("I practiced my {ev=presentation|audition piece|pitch} daily and nailed the run-through {when}.",
          "{sub} nailed the run-through of {pos} {ev}"),
         ("I applied for the senior role {when}, and I honestly think I'm the best fit.",
          "{sub} applied for the senior role"),
         ("My coach put me in the starting lineup for the final, and I believe in my game.",
          "{sub} start in the final"),
         ("After months of lessons I take my road test {soon}, and I know I'll pass.",
          "{sub} take the road test {soon}")),
        (("I even offered to go first.", "{sub} offered to go first"),
         ("My hands aren't even shaking this time.", "{pos} hands aren't shaking this time"),
         ("I've done the work, and it shows.", "{sub} did the work")),
        ("trust the work they already did", "feel capable and in control"),
        ("encouragement that matches their energy", "someone to share the momentum"),
        ("That self-belief shows, now that {gist}.", "It's great to hear that steadiness when {gist}."),
    ),
    "content": E(
        "high",
        ("I wouldn't change a thing", "everything feels just right", "life feels calm and enough",
         "I'm at peace with where I am"),
        (("I spent {day=Sunday|the afternoon|my day off} on the porch with tea and a book, and it felt full.",
          "{sub} spent a slow day reading on the porch"),
         ("My small apartment is finally set up the way I like it.",
          "{pos} apartment is finally set up right"),
         ("After a long week I cooked dinner, called my {person}, and went to bed early.",
          "{sub} had a quiet evening after a long week"),
         ("My garden's first tomatoes came in {when}, and I ate one warm off the vine.",
          "{sub} ate a warm tomato from {pos} garden")),
        (("No big plans, and that's perfect.", "there are no big plans"),
         ("I didn't check my email once.", "{sub} didn't check email once"),
         ("The house was quiet in a good way.", "the house was quiet in a good way")),
        ("feel life is enough as it is", "are savoring a calm, balanced moment"),
        ("space to savor the calm", "a gentle reflection of their peace"),
        ("It's good to notice when {gist}.", "What a gift that {gist}."),
    ),
    "devastated": E(
        "low",
        ("my whole world fell apart", "I can't stop crying", "I feel completely shattered",
         "I don't know how to go on"),
        (("My {person} passed away suddenly {when}.", "{pos} {person} passed away suddenly"),
         ("A house fire took everything, including all my family photos.",
          "a fire took everything {sub} owned"),
         ("My partner ended our eight-year relationship {when} with no warning.",
          "{pos} eight-year relationship ended without warning"),
         ("My small bakery closed for good {when} after ten years.", "{pos} bakery closed after ten years")),
        (("I haven't eaten since.", "{sub} haven't eaten since"),
         ("Everything reminds me of it.", "everything reminds {obj} of it"),
         ("I couldn't get out of bed today.", "{sub} couldn't get out of bed today")),
        ("face a loss that shakes everything", "feel overwhelmed by grief"),
        ("gentle presence more than advice", "comfort and no pressure"),
        ("It makes sense to feel broken when {gist}.", "There's no right way to feel when {gist}."),
    ),
    "disappointed": E(
        "low",
        ("I really expected more", "it just fell flat", "all that build-up for nothing",
         "my heart sank when I heard"),
        (("I didn't get the {role=promotion|scholarship|part in the play} I'd worked toward all year.",
          "{sub} missed out on the {role}"),
         ("My {person} canceled our weekend plans {when} for the third time.",
          "{pos} {person} canceled plans again"),
         ("The concert I waited months for got canceled an hour before doors opened.",
          "{pos} long-awaited concert got canceled"),
         ("I got a B-minus on the essay I spent two weeks on.", "{pos} two-week essay got a B-minus")),
        (("I'd already told everyone about it.", "{sub} had already told everyone"),
         ("I keep thinking about what could have been.", "{sub} keep thinking about what could have been"),
         ("I didn't even get any feedback.", "there was no feedback")),
        ("had high hopes that did not come true", "feel their effort went unrewarded"),
        ("acknowledgment of the letdown", "a kind word and perspective"),
        ("Of course it stings when {gist}.", "That's a real letdown when {gist}."),
    ),
    "disgusted": E(
        "low",
        ("it made my stomach turn", "I literally gagged", "I can't unsee it",
         "just thinking about it makes me queasy"),
        (("I found {x=mold|a hair|a bug} in my sandwich at {place=a cafe|the cafeteria} {when}.",
          "{sub} found {x} in {pos} sandwich"),
         ("My roommate left raw chicken out on the counter for three days.",
          "{pos} roommate left raw chicken out for days"),
         ("A man on the bus spat on the floor right next to my feet.", "a man spat right next to {obj}"),
         ("I overheard a grown man mocking a disabled kid at the park {when}.",
          "{sub} heard a man mocking a disabled kid")),
        (("I keep shuddering when I picture it.", "{sub} keep shuddering at it"),
         ("I scrubbed my hands three times.", "{sub} scrubbed {pos} hands three times"),
         ("I still can't eat anything.", "{sub} still can't eat")),
        ("feel a line of decency was crossed", "want distance from something offensive"),
        ("validation that the reaction is fair", "a moment to reset"),
        ("Recoiling makes sense when {gist}.", "That's a completely fair reaction when {gist}."),
    ),
    "embarrassed": E(
        "low",
        ("my face went bright red", "I wanted the floor to swallow me", "I still cringe thinking about it",
         "everyone was staring at me"),
        (("I waved back at someone {when} who was actually waving at the person behind me.",
          "{sub} waved at someone waving at another person"),
         ("I tripped on stage during my {ev=graduation|award speech|recital} in front of everyone.",
          "{sub} tripped on stage at {pos} {ev}"),
         ("I sent a message complaining about my boss straight to my boss.",
          "{sub} sent a complaint to {pos} boss by mistake"),
         ("My {dev=camera|microphone} was on during the whole team call {when} and I had no idea.",
          "{pos} {dev} was on during a team call")),
        (("People keep bringing it up.", "people keep bringing it up"),
         ("I laughed it off, but my ears were burning.", "{pos} ears were burning"),
         ("I avoided the break room all afternoon.", "{sub} avoided the break room")),
        ("feel exposed in front of others", "worry how others now see them"),
        ("lightness and perspective", "reassurance that people forget quickly"),
        ("Everyone has moments like that, like when {gist}.", "People forget fast, even when {gist}."),
    ),
    "excited": E(
        "high",
        ("I'm literally bouncing off the walls", "I can't sit still", "I keep grinning like an idiot",
         "I screamed when I found out"),
        (("I just got accepted into the {prog=exchange program|art school|apprenticeship} I applied to!",
          "{sub} got into the {prog}"),
         ("My {person} just got us front-row tickets to see our favorite band!",
          "{pos} {person} got front-row tickets"),
         ("We just found out we're having twins!", "{sub} are having twins"),
         ("I just booked my first solo trip to {place=Iceland|Japan|Peru}, leaving in two weeks!",
          "{sub} booked a first solo trip to {place}")),
        (("I told literally everyone I know.", "{sub} told everyone"),
         ("I already started planning everything.", "{sub} started planning everything"),
         ("I couldn't sleep last night from all the energy.", "{sub} couldn't sleep from the energy")),
        ("are thrilled by a new possibility", "feel a rush of energy about what's coming"),
        ("someone to celebrate with", "shared enthusiasm"),
        ("How amazing that {gist}!", "I love that {gist}!"),
    ),
    "faithful": E(
        "warm",
        ("I know it will work out somehow", "I'm sticking by them no matter what", "my faith keeps me steady",
         "I believe in us through this"),
        (("My {person} lost their job, but I'm standing by them the way they stood by me.",
          "{sub} are standing by {pos} {person}"),
         ("I've prayed every night since my {person} got sick, and I believe they'll pull through.",
          "{sub} pray every night for {pos} sick {person}"),
         ("My partner is deployed for a year, and I'm keeping every promise we made.",
          "{sub} keep every promise while {pos} partner is away"),
         ("Our community garden flooded, but I still show up every Saturday to rebuild.",
          "{sub} keep showing up to rebuild the garden")),
        (("We've been through worse together.", "{sub} have been through worse together"),
         ("I lit a candle for them tonight.", "{sub} lit a candle tonight"),
         ("I'm not giving up on them.", "{sub} won't give up")),
        ("hold on to loyalty and belief through difficulty", "draw strength from commitment"),
        ("respect for their steadfastness", "support for their commitment"),
        ("That kind of loyalty shows when {gist}.", "It says a lot that {gist}."),
    ),
    "furious": E(
        "low",
        ("I'm shaking with rage", "I have never been this livid", "I could scream",
         "I'm absolutely seething"),
        (("A driver ran a red light, hit my parked car, and drove off {when}.",
          "a driver hit {pos} car and fled"),
         ("I found out my {person} has been spreading lies about me for months.",
          "{pos} {person} spread lies about {obj} for months"),
         ("My boss fired my whole team over email {when} with no warning.",
          "{pos} boss fired the whole team by email"),
         ("The airline lost my luggage and then hung up on me twice.",
          "the airline lost {pos} luggage and hung up twice")),
        (("I drafted five emails I can't send.", "{sub} drafted five emails"),
         ("My hands are still trembling.", "{pos} hands are still trembling"),
         ("Nobody is taking responsibility.", "nobody is taking responsibility")),
        ("see a serious injustice done to them", "feel deeply wronged and disrespected"),
        ("to be heard before anything else", "validation and a safe release"),
        ("Of course you're livid when {gist}.", "Anyone would see red when {gist}."),
    ),
    "grateful": E(
        "high",
        ("I can't thank them enough", "my heart is so full", "I don't know how to repay them",
         "I'm counting my blessings tonight"),
        (("My {person} drove three hours {when} just to help me move.",
          "{pos} {person} drove three hours to help {obj}"),
         ("A stranger paid for my groceries when my card got declined.",
          "a stranger paid for {pos} groceries"),
         ("My coworkers covered all my shifts while I recovered from surgery.",
          "{pos} coworkers covered {pos} shifts"),
         ("My old teacher wrote me a recommendation letter on a day's notice.",
          "{pos} old teacher wrote a last-minute letter")),
        (("I wrote them a thank-you card.", "{sub} wrote a thank-you card"),
         ("I got a little teary about it.", "{sub} got teary"),
         ("I want to pay it forward somehow.", "{sub} want to pay it forward")),
        ("feel deeply supported by someone else", "recognize kindness they did not expect"),
        ("space to express thanks", "shared warmth"),
        ("It's so moving that {gist}.", "People like that matter, and {gist}."),
    ),
    "guilty": E(
        "low",
        ("I can't stop blaming myself", "it's eating away at me", "I keep thinking I let them down",
         "I feel like such a bad friend"),
        (("I forgot my {person}'s birthday {when} and they spent it alone.",
          "{sub} forgot {pos} {person}'s birthday"),
         ("I backed into my neighbor's fence and never told them.",
          "{sub} hit a neighbor's fence and said nothing"),
         ("I snapped at my {person} when they only wanted to help.", "{sub} snapped at {pos} {person}"),
         ("I canceled on my {person} to go to a party instead.", "{sub} chose a party over {pos} {person}")),
        (("They said it's fine, but I know it isn't.", "{sub} were told it's fine"),
         ("I keep drafting an apology.", "{sub} keep drafting an apology"),
         ("I can't sleep thinking about it.", "{sub} can't sleep over it")),
        ("believe they hurt someone they love", "hold themselves responsible for the harm"),
        ("a path to make amends", "self-compassion and repair"),
        ("That weight shows you care, even though {gist}.", "Feeling this since {gist} shows real care."),
    ),
    "hopeful": E(
        "warm",
        ("I think things are finally turning around", "I finally see some light ahead",
         "I have a good feeling this time", "maybe this is my chance"),
        (("My {person}'s new treatment seems to be working; they laughed today.",
          "{pos} {person}'s treatment seems to be working"),
         ("I had a second interview {when}, and they asked when I could start.",
          "{sub} had a promising second interview"),
         ("After months of trying, I finally got a callback about the apartment I want.",
          "{sub} got a callback about an apartment"),
         ("My {person} and I talked for the first time in a year {when}.",
          "{sub} reconnected with {pos} {person}")),
        (("I'm trying not to jinx it.", "{sub} are trying not to jinx it"),
         ("I even started making plans.", "{sub} started making plans"),
         ("It's the first good news in a while.", "it's the first good news in a while")),
        ("see a real chance for things to improve", "are cautiously leaning toward a good outcome"),
        ("encouragement without pressure", "someone to share the optimism"),
        ("It's wonderful that {gist}.", "Hold onto that, especially since {gist}."),
    ),
    "impressed": E(
        "high",
        ("I was blown away", "I was in awe of it", "my jaw dropped", "I have huge respect for them now"),
        (("My {age=ten|twelve}-year-old nephew built a working robot from scratch for his science fair.",
          "{pos} nephew built a working robot"),
         ("My {person} ran a full marathon after only starting to run last year.",
          "{pos} {person} ran a marathon after a year"),
         ("The new intern fixed a bug our team was stuck on for weeks.", "an intern fixed a weeks-old bug"),
         ("I watched a street pianist play Chopin perfectly in the train station {when}.",
          "{sub} watched a street pianist play Chopin")),
        (("I asked how they learned it.", "{sub} asked how it was learned"),
         ("I've been telling everyone about it.", "{sub} keep telling everyone"),
         ("It made me want to practice more.", "it made {obj} want to practice more")),
        ("admire someone else's skill or effort", "feel inspired by what others achieved"),
        ("someone to share the admiration", "a chance to celebrate others"),
        ("It's remarkable that {gist}.", "What a thing to witness: {gist}."),
    ),
    "jealous": E(
        "low",
        ("I wish that were me", "I couldn't even congratulate them properly", "it stings to watch them",
         "it always goes their way, never mine"),
        (("My {person} got the promotion I applied for, and everyone's celebrating them.",
          "{pos} {person} got the promotion {sub} wanted"),
         ("My best friend has a new friend group and posts about them constantly.",
          "{pos} best friend found a new friend group"),
         ("My {person} bought a house {when} while I'm still renting with roommates.",
          "{pos} {person} bought a house while {sub} rent"),
         ("My partner keeps texting an ex and laughing at the messages.",
          "{pos} partner keeps texting an ex")),
        (("I muted them on social media.", "{sub} muted them online"),
         ("I smiled, but inside it hurt.", "{sub} smiled though it hurt"),
         ("I hate that I feel this way.", "{sub} dislike reacting this way")),
        ("compare themselves and feel they fall short", "fear losing their place to someone else"),
        ("no judgment and some self-worth", "reassurance of their own value"),
        ("Comparison hurts, especially when {gist}.", "It's human to feel a pang when {gist}."),
    ),
    "joyful": E(
        "high",
        ("I haven't stopped smiling all day", "my heart feels light", "I'm on cloud nine",
         "I laughed until I cried"),
        (("My {person} got married {when} and we danced until midnight.", "{pos} {person} got married"),
         ("My grandma turned ninety and the whole family showed up to sing.", "{pos} grandma turned ninety"),
         ("We brought our newborn home from the hospital {when}.", "{sub} brought a newborn home"),
         ("It snowed for the first time in years and my {person} and I built a snowman.",
          "{sub} built a snowman in the first snow")),
        (("Everyone was laughing the whole night.", "everyone laughed all night"),
         ("I took about a hundred photos.", "{sub} took a hundred photos"),
         ("I keep laughing when I think about it.", "{sub} keep laughing about it")),
        ("are swept up in pure happiness", "feel connected and light"),
        ("shared delight", "someone to celebrate with"),
        ("How wonderful that {gist}!", "What a happy moment: {gist}."),
    ),
    "lonely": E(
        "low",
        ("nobody really checks on me", "the apartment feels so quiet", "I eat dinner by myself most nights",
         "I feel invisible lately"),
        (("I moved to a new city for work three months ago and still don't know anyone.",
          "{sub} moved cities and know nobody"),
         ("All my friends got busy with their kids, and my weekends are empty.",
          "{pos} friends are busy and weekends are empty"),
         ("I spent my birthday at home {when} and nobody called.", "{sub} spent a birthday with no calls"),
         ("My {person} moved overseas, and the evenings are really quiet now.",
          "{pos} {person} moved overseas")),
        (("I talked to the cashier just to hear a voice.", "{sub} chatted with a cashier for company"),
         ("My phone hasn't buzzed all weekend.", "{pos} phone stayed silent all weekend"),
         ("I keep leaving the TV on for the noise.", "{sub} leave the TV on for noise")),
        ("long for connection they are missing", "feel disconnected from the people around them"),
        ("company and small ways to connect", "to feel seen"),
        ("Being far from people is hard when {gist}.", "Of course you ache for company when {gist}."),
    ),
    "nostalgic": E(
        "warm",
        ("it took me right back", "I miss those simpler days", "it felt like old times",
         "I got lost in old memories"),
        (("I found my old {x=Game Boy|mixtapes|school yearbook} in my parents' attic {when}.",
          "{sub} found {pos} old {x}"),
         ("I drove past my childhood home and the swing is still in the yard.",
          "{sub} drove past {pos} childhood home"),
         ("My {person} and I watched the cartoons we loved in the nineties.",
          "{sub} rewatched childhood cartoons"),
         ("The bakery smelled exactly like my grandma's kitchen on Sunday mornings.",
          "a bakery smelled like {pos} grandma's kitchen")),
        (("I spent an hour flipping through old photos.", "{sub} flipped through old photos"),
         ("I texted my childhood friend about it.", "{sub} texted a childhood friend"),
         ("I put on the music we used to play.", "{sub} played the old music")),
        ("are revisiting a cherished past", "feel the pull of earlier, simpler times"),
        ("space to reminisce", "warm curiosity about the memory"),
        ("Those memories come alive when {gist}.", "It's special that {gist}."),
    ),
    "prepared": E(
        "high",
        ("I've got everything lined up", "I've checked every box", "I've thought through every step",
         "there's nothing left to do but go"),
        (("The moving truck comes {soon}, and every box is packed and labeled.",
          "every box is packed before {pos} move"),
         ("My {ev=exam|interview|presentation} is {soon}, and I've reviewed my notes three times.",
          "{sub} reviewed notes for the {ev} three times"),
         ("I packed my hospital bag weeks ago, so I'm set whenever the baby comes.",
          "{sub} packed the hospital bag early"),
         ("I mapped the whole hiking route and packed extra layers for the trip.",
          "{sub} mapped the route and packed layers")),
        (("I even made a backup plan.", "{sub} made a backup plan"),
         ("My checklist is taped to the fridge.", "{pos} checklist is on the fridge"),
         ("I double-checked everything last night.", "{sub} double-checked everything")),
        ("feel ready because they did the work", "have reduced uncertainty through planning"),
        ("acknowledgment of their effort", "encouragement to rely on the plan"),
        ("All that planning shows, since {gist}.", "It's reassuring that {gist}."),
    ),
    "proud": E(
        "high",
        ("I did it all by myself", "I keep admiring what I made", "I stood a little taller today",
         "all those late nights paid off"),
        (("My daughter read her first full book out loud to me {when}.",
          "{pos} daughter read her first book aloud"),
         ("I finished my first {x=marathon|half marathon|triathlon} after a year of training.",
          "{sub} finished {pos} first {x}"),
         ("I graduated from night school at forty while working full time.",
          "{sub} graduated from night school at forty"),
         ("The bookshelf I built by hand is finally done, and it's sturdy.",
          "{sub} built a sturdy bookshelf")),
        (("I took a photo to remember it.", "{sub} took a photo to remember it"),
         ("My family cheered so loud.", "{pos} family cheered loudly"),
         ("I keep telling myself I earned this.", "{sub} earned it")),
        ("see real effort turned into achievement", "feel their growth was earned"),
        ("recognition of the work behind it", "celebration"),
        ("It's a real achievement that {gist}.", "Look at that: {gist}!"),
    ),
    "sad": E(
        "low",
        ("I've been down all week", "there's a heaviness I can't shake", "I just feel blue",
         "I teared up on the way home"),
        (("My {person} moved out {when}, and the spare room is just empty now.", "{pos} {person} moved out"),
         ("The old tree in our yard had to be cut down {when}.", "the old tree in {pos} yard was cut down"),
         ("My favorite coworker left the company, and today was her last day.",
          "{pos} favorite coworker left"),
         ("I gave away my late grandpa's piano because it wouldn't fit.",
          "{sub} gave away {pos} late grandpa's piano")),
        (("I walked past the spot and teared up.", "{sub} teared up walking past"),
         ("The house feels different now.", "the house feels different"),
         ("I didn't feel like eating much.", "{sub} lost {pos} appetite")),
        ("are grieving a loss, even a small one", "feel something good has ended"),
        ("gentle comfort", "room to feel it"),
        ("It's okay to feel low when {gist}.", "Of course it hurts now that {gist}."),
    ),
    "sentimental": E(
        "warm",
        ("it tugged at my heartstrings", "I got a little misty-eyed", "it means more than I can say",
         "I'm keeping it forever"),
        (("I found the notes my {person} used to leave in my lunchbox.",
          "{sub} found old lunchbox notes from {pos} {person}"),
         ("My {person} gave me my grandfather's watch {when}.", "{sub} received {pos} grandfather's watch"),
         ("I found my grandmother's handwritten recipe cards in a drawer {when}.",
          "{sub} found {pos} grandmother's recipe cards"),
         ("I rewatched our wedding video on our anniversary.", "{sub} rewatched {pos} wedding video")),
        (("I put it in a little box with the others.", "{sub} kept it in a special box"),
         ("I keep holding it and smiling.", "{sub} keep holding it"),
         ("I called my mom to tell her.", "{sub} called {pos} mom")),
        ("attach deep meaning to a keepsake or moment", "feel tenderness about a bond"),
        ("space to savor the meaning", "warm acknowledgment"),
        ("It's touching that {gist}.", "That holds so much love, like when {gist}."),
    ),
    "surprised": E(
        "high",
        ("I did not see that coming", "I had to read it three times", "my jaw hit the floor",
         "it came out of nowhere"),
        (("My {person} showed up at my door {when} after five years without a word.",
          "{pos} {person} showed up after five years"),
         ("I checked an old account and found I'd won a raffle I forgot I entered.",
          "{sub} won a forgotten raffle"),
         ("My quiet coworker turned out to be a famous drummer in the nineties.",
          "{pos} quiet coworker was once a famous drummer"),
         ("I came home to find my {person} had repainted my whole living room.",
          "{pos} {person} repainted {pos} living room")),
        (("I'm still processing it.", "{sub} are still processing it"),
         ("I laughed out of pure shock.", "{sub} laughed from shock"),
         ("Nobody gave me any hint.", "nobody gave a hint")),
        ("are reacting to something completely unexpected", "are still catching up with a sudden turn"),
        ("room to process", "someone to share the shock with"),
        ("What a twist that {gist}!", "No one could predict that {gist}."),
    ),
    "terrified": E(
        "low",
        ("I thought I was going to die", "I froze and couldn't breathe", "I was frozen in pure panic",
         "I've never been so scared"),
        (("Our plane dropped suddenly during a storm {when} and people were screaming.",
          "{pos} plane dropped suddenly in a storm"),
         ("A car ran a red light and missed my kids by inches.", "a car nearly hit {pos} kids"),
         ("I woke up to a stranger standing in my bedroom doorway.",
          "{sub} woke to a stranger in {pos} doorway"),
         ("The lab called and said my biopsy needs an urgent follow-up.",
          "{pos} biopsy needs urgent follow-up")),
        (("My legs were shaking for an hour after.", "{pos} legs shook for an hour"),
         ("I can't close my eyes without seeing it.", "{sub} keep seeing it"),
         ("I keep picturing what could have happened.", "{sub} keep picturing the worst")),
        ("faced an overwhelming threat to their safety", "are still in shock from real danger"),
        ("safety first and calm presence", "grounding and support"),
        ("Panic is a natural reaction when {gist}.", "That sounds truly frightening; {gist}."),
    ),
    "trusting": E(
        "warm",
        ("I know they've got my back", "I'd hand them my keys, no question",
         "I never worry when they're in charge", "I can count on them completely"),
        (("I'm letting my {person} make every decision for our trip, and I'm totally fine with it.",
          "{sub} let {pos} {person} plan the whole trip"),
         ("My new doctor explained everything so clearly that I agreed to the surgery.",
          "{sub} agreed to surgery with a new doctor"),
         ("My neighbor has a key to my place and waters my plants whenever I travel.",
          "{pos} neighbor keeps {pos} key"),
         ("I told my {person} my biggest secret {when}, and I know it's safe.",
          "{sub} shared a big secret with {pos} {person}")),
        (("They've never let me down.", "{sub} have never been let down"),
         ("I didn't even double-check.", "{sub} didn't double-check"),
         ("It's nice not to carry everything alone.", "{sub} don't carry everything alone")),
        ("feel safe relying on someone", "believe the other person will follow through"),
        ("affirmation of a healthy bond", "space to appreciate the relationship"),
        ("It's lovely to have that when {gist}.", "That kind of faith matters, like when {gist}."),
    ),
}
del E

# Confusable labels; a same-cluster distractor ("I'm not terrified, just ...") is the hard kind.
_CLUSTERS = (
    ("afraid", "anxious", "apprehensive", "terrified"),
    ("angry", "annoyed", "furious", "disgusted", "jealous"),
    ("sad", "devastated", "disappointed", "lonely"),
    ("ashamed", "embarrassed", "guilty"),
    ("joyful", "excited", "content", "grateful", "surprised", "impressed"),
    ("proud", "confident", "prepared"),
    ("hopeful", "anticipating", "faithful", "trusting"),
    ("caring", "nostalgic", "sentimental"),
)
CLUSTER_OF = {e: c for c in _CLUSTERS for e in c}
# Whose situations a label may borrow: only pairs where the borrowed event plausibly carries the
# label ("my dad passed away ... I'm sad" yes, "... I'm disappointed" no), hence not symmetric.
SHARED_SITUATIONS = {
    "afraid": ("terrified",), "terrified": ("afraid",),
    "anxious": ("apprehensive",), "apprehensive": ("anxious",),
    "angry": ("furious", "annoyed"), "furious": ("angry",), "annoyed": ("angry",),
    "sad": ("devastated", "disappointed", "lonely"), "devastated": ("sad",),
    "ashamed": ("guilty",), "guilty": ("ashamed",), "embarrassed": ("ashamed",),
    "joyful": ("excited",), "excited": ("joyful", "anticipating"), "anticipating": ("excited",),
    "proud": ("confident",), "confident": ("prepared",), "prepared": ("confident",),
    "nostalgic": ("sentimental",), "sentimental": ("nostalgic",),
}
# Labels that read naturally as "I'm (not) <label>"; "anticipating" is a verb, and "not caring" /
# "not trusting" mean something else, so these four never serve as adjective cues or distractors.
_NON_ADJECTIVE = frozenset({"anticipating", "caring", "faithful", "trusting"})
DISTRACTOR_LABELS = tuple(e for e in EMOTIONS if e not in _NON_ADJECTIVE)

# ---------------------------------------------------------------------------------------------
# User-turn phrasing. "{w}" is the label word, "{p}" a paraphrase, "{o}" a distractor label.
# ---------------------------------------------------------------------------------------------

EXPLICIT_ANY = ("{W} is the word for it.", "If I had to name it: {w}.", "The word that fits is {w}.")
EXPLICIT_ADJ = ("I'm feeling {w}.", "Honestly, I'm just {w}.", "I feel so {w} right now.",
                "I'm really {w} about it.")
PARAPHRASE_FRAMES = ("{P}.", "Honestly, {p}.", "{P}, you know?", "I'll be honest: {p}.", "{P}.")
DISTRACTOR_NEGATED = ("I'm not {o}, to be clear.", "It's not that I'm {o}.", "I wouldn't call it {o}.",
                      "People assume I'm {o}, but no.")
DISTRACTOR_OTHER = ("My {q} seemed {o} about it, not me.", "My {q} is {o}; I'm not.",
                    "Everyone else seems {o}, but not me.")
USER_OPENERS = {
    "low": ("", "", "", "Hey.", "Can I vent for a second?", "I need to get this off my chest."),
    "high": ("", "", "", "Hey!", "Guess what?", "I have to tell someone."),
    "warm": ("", "", "", "Hi.", "Can I share something?", "Something happened I keep thinking about."),
}
FOLLOWUP_REACTIONS = {  # (what the user says, how the analysis reports it)
    "low": (("Thanks, that helps a little.", "finds that a little helpful"),
            ("Yeah, you're probably right.", "agrees"),
            ("Maybe. It's hard to say.", "is unsure"),
            ("That's kind of you to say.", "appreciates the kindness"),
            ("Hm, I hadn't thought of that.", "considers a new angle"),
            ("Thank you for listening.", "feels listened to")),
    "high": (("Thank you! I'm still grinning.", "is still glowing"),
             ("Ha, yes, exactly!", "agrees warmly"),
             ("Thanks, it means a lot.", "appreciates the reply"),
             ("I know, right?", "shares the enthusiasm"),
             ("Honestly, I still can't believe it.", "is still taking it in")),
    "warm": (("Thank you, that's a nice way to put it.", "likes the framing"),
             ("Yeah, I think so too.", "agrees"),
             ("That means a lot, thanks.", "feels understood"),
             ("Maybe you're right.", "considers it"),
             ("I hadn't thought of it like that.", "sees a new angle")),
}
FACT_REACTIONS = {  # a reply that quoted a persona fact gets that fact back, as a real user would
    "hobby": ("Honestly, {hobby} might be just the thing.", "warms to the {hobby} idea"),
    "pet": ("{Pet} is right next to me, actually.", "has {pet} close by"),
    "occupation": ("Work has taught me a thing or two, I guess.", "draws on their work"),
    "recent": ("True, I {recent_1p} not long ago.", "remembers a recent win"),
}
DETAIL_LINKS = ("", "", "Also, ", "And honestly, ")

# ---------------------------------------------------------------------------------------------
# Assistant-turn phrasing.
# ---------------------------------------------------------------------------------------------

UNDERSTANDING_FIRST = (  # most preferred first; later ones are shorter fallbacks for the word budget
    "{A_occ} who loves {hobby} says {gist}; {cue}.",
    "Speaking as {a_occ}, the user shares that {gist}; {cue}.",
    "This {mbti} {occ} mentions that {gist}; {cue}.",
    "The user, {a_occ}, says {gist}; {cue}.",
)
UNDERSTANDING_SHORT = "{A_occ} says {gist}; {cue}."
UNDERSTANDING_FOLLOWUP = (
    "The {occ} {reaction} and adds that {gist}; {cue}.",
    "The user {reaction}, then adds that {gist}; {cue}.",
    "This {mbti} {reaction} and says {gist}; {cue}.",
)
UNDERSTANDING_FOLLOWUP_SHORT = "The {occ} adds that {gist}; {cue}."
CUE_NOTES = {
    "explicit": ("they call it {w}", "they name it: {w}", 'they say "{w}" outright'),
    "paraphrase": ('they say "{p}"', '"{p}" shows the feeling', 'the phrase "{p}" tells it'),
    "implied": ("no feeling is named", "the details carry the feeling", "they leave the feeling unnamed"),
    "same": ("the same feeling carries through", "the feeling is unchanged", "the feeling persists"),
}
DISTRACTOR_NOTES = {"negated": ", ruling out {o}", "other": ', and "{o}" is someone else\'s'}
REASONING = (
    "As {a_mbti} who {trait}, they {appraisal}; they need {need}.",
    "Being {a_mbti} who {trait}, they {appraisal}, so {need} matters most.",
    "They {appraisal}; as {a_mbti} who {trait}, they need {need}.",
    "As {a_occ} who {trait}, they {appraisal}; {need} would help.",
)
REASONING_SHORT = "As {a_mbti}, they {appraisal}; they need {need}."
REASONING_BARE = "They {appraisal} and need {need}."  # last resort for the word budget only
OPENERS = {  # at least eight per tone, so replies do not all start alike
    "low": ("That sounds really hard.", "I'm sorry you're dealing with this.", "I hear you.",
            "That's a lot to carry.", "Oh, that sounds tough.", "Thank you for telling me.",
            "That makes complete sense.", "I'm really glad you reached out.", "Ugh, that's rough."),
    "high": ("That's wonderful!", "Oh, I love this!", "What great news!", "That's so lovely to hear.",
             "Wow!", "That's fantastic.", "I'm so happy for you.", "Good for you!", "This made me smile."),
    "warm": ("I love that you shared this.", "That sounds meaningful.", "Thank you for telling me.",
             "That's lovely to hear.", "I can hear how much this matters.", "That says a lot about you.",
             "There's something really good in that.", "What a nice thing to hold onto."),
}
FOLLOWUP_OPENERS = ("Thanks for telling me more.", "That detail matters.", "I'm glad you shared that.",
                    "That adds a lot.", "I hear that.", "That makes sense.")
FACT_LINES = {  # one persona fact per reply, in the tone of the label
    "low": {
        "hobby": ("Maybe some time {hobby} later could give you a breather.",
                  "Could {hobby} this weekend help you reset a little?"),
        "pet": ("Let {pet} keep you company tonight.", "Maybe a quiet evening with {pet} would help."),
        "occupation": ("As {a_occ}, you can {skill}.", "The {occ} in you knows how to {skill}."),
        "recent": ("You just {recent_2p}; you've handled hard things before.",
                   "Remember, you {recent_2p}; you're stronger than you feel."),
    },
    "high": {
        "hobby": ("Treat yourself to some time {hobby}!", "Maybe celebrate by {hobby} this weekend?"),
        "pet": ("I bet {pet} can tell you're in a great mood.", "Give {pet} a celebratory treat too!"),
        "occupation": ("Bring that glow to work as {a_occ} this week!",
                       "What a story to bring to work as {a_occ}!"),
        "recent": ("First you {recent_2p}, and now this!", "You {recent_2p}, and now this. What a season!"),
    },
    "warm": {
        "hobby": ("Maybe {hobby} later would help you hold onto this.",
                  "Some quiet time {hobby} might let it sink in."),
        "pet": ("Maybe share the moment with {pet} tonight.", "Sounds like a cozy night with {pet}."),
        "occupation": ("That heart surely shows in your work as {a_occ}.",
                       "No wonder people value you as {a_occ}."),
        "recent": ("And right after you {recent_2p}, too.", "What a season, since you {recent_2p}."),
    },
}
QUESTIONS = {
    "low": ("What would help most right now?", "Do you want to talk it through?",
            "How are you holding up tonight?",
            "Who could you lean on this week?", "What's weighing on you most?"),
    "high": ("How will you celebrate?", "What was the best part?", "Who did you tell first?",
             "How does it feel to say it out loud?"),
    "warm": ("What does it mean to you?", "What do you remember most?",
             "Who would you like to share it with?",
             "How are you feeling about it now?"),
}

# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

_SLOT = re.compile(r"\{([^{}]+)\}")


def _fill(template: str, rng: random.Random | None, bindings: dict[str, str]) -> str:
    """Fill ``{name}``, ``{name=a|b}`` and ``{a|b}`` slots, recording choices in ``bindings``.

    With ``rng=None`` every slot must already be bound: gists re-use the user sentence's choices,
    and an unbound slot there would silently tell a different story, so it raises.
    """

    def one(m: re.Match) -> str:
        body = m[1]
        if "=" in body:
            name, alts = body.split("=", 1)
            if name not in bindings:
                bindings[name] = _pick(rng, alts.split("|"), body)
            return bindings[name]
        if "|" in body:
            return _pick(rng, body.split("|"), body)
        if body not in bindings:
            bindings[body] = _pick(rng, SLOTS[body], body)
        return bindings[body]

    return _SLOT.sub(one, template)


def _pick(rng: random.Random | None, options, slot: str) -> str:
    if rng is None:
        raise KeyError(f"slot {{{slot}}} is not bound")
    return rng.choice(list(options))


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _words(s: str) -> int:
    return len(s.split())


def _fit(candidates: list[str], limit: int) -> str:
    """The first candidate within ``limit`` words (candidates go from richest to barest)."""
    for c in candidates:
        if _words(c) <= limit:
            return c
    return min(candidates, key=_words)


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


# ---------------------------------------------------------------------------------------------
# Personas
# ---------------------------------------------------------------------------------------------


def _make_persona(rng: random.Random, index: int) -> dict:
    a_occ, skill = rng.choice(OCCUPATIONS)
    n_hobbies = rng.choice((1, 1, 2))
    hobbies = rng.sample(HOBBIES, n_hobbies)
    # About holds one or two facts beyond the job: a second hobby or a pet, never both.
    pet = (rng.choice(PET_KINDS), rng.choice(PET_NAMES)) if n_hobbies == 1 and rng.random() < 0.6 else None
    recent = rng.sample(RECENT, rng.choice((1, 2)))
    about = rng.choice(ABOUT_TEMPLATES).format(a_occ=a_occ, A_occ=_cap(a_occ), hobbies=" and ".join(hobbies))
    if pet:
        about += rng.choice(PET_SENTENCES).format(kind=pet[0], name=pet[1])
    mbti = rng.choice(MBTI_TYPES)
    signature = rng.choice(SIGNATURES)
    person = (f"MBTI: {mbti}\nAbout: {about}\nSignature: {signature}\n"
              f"Recent Activities: {'; '.join(r[0] for r in recent)}.")
    facts = [("hobby", h) for h in hobbies] + [("occupation", a_occ)] + [("recent", r) for r in recent]
    if pet:
        facts.append(("pet", pet))
    return {
        "persona_id": f"p{index:04d}", "anon_username": f"user_{rng.getrandbits(40):010x}",
        "person": person, "mbti": mbti, "a_occ": a_occ, "occ": a_occ.split(" ", 1)[1], "skill": skill,
        "hobbies": hobbies, "pet": pet, "facts": facts,
    }


def _make_personas(rng: random.Random, n: int) -> list[dict]:
    # The persona-disjoint split keys on the profile string, so two personas must never share one.
    personas, seen = [], set()
    while len(personas) < n:
        p = _make_persona(rng, len(personas))
        if p["person"] not in seen:
            seen.add(p["person"])
            personas.append(p)
    return personas


def _fact_slots(persona: dict, fact: tuple[str, object]) -> dict[str, str]:
    kind, value = fact
    slots = {"a_occ": persona["a_occ"], "occ": persona["occ"], "skill": persona["skill"],
             "hobby": persona["hobbies"][0]}
    if kind == "hobby":
        slots["hobby"] = value
    elif kind == "pet":
        slots["pet"] = value[1]
        slots["Pet"] = value[1]
    elif kind == "recent":
        slots["recent_2p"] = value[1]
        slots["recent_1p"] = value[0][:1].lower() + value[0][1:]
    return slots


# ---------------------------------------------------------------------------------------------
# Dialogue pieces
# ---------------------------------------------------------------------------------------------


def _explicit_sentence(rng: random.Random, label: str) -> str:
    emo = TABLE[label]
    options = EXPLICIT_ANY + emo.explicit + (() if label in _NON_ADJECTIVE else EXPLICIT_ADJ)
    return rng.choice(options).format(w=label, W=_cap(label))


def _paraphrase_sentence(rng: random.Random, para: str) -> str:
    return rng.choice(PARAPHRASE_FRAMES).format(p=para, P=_cap(para))


def _draw_distractor(rng: random.Random, label: str) -> dict | None:
    if rng.random() >= DISTRACTOR_RATE:
        return None
    near = [e for e in CLUSTER_OF[label] if e != label and e in DISTRACTOR_LABELS]
    if near and rng.random() < SAME_CLUSTER_DISTRACTOR:
        pool = near
    else:
        pool = [e for e in DISTRACTOR_LABELS if e != label]
    other = rng.choice(pool)
    kind = rng.choice(("negated", "other"))
    templates = DISTRACTOR_NEGATED if kind == "negated" else DISTRACTOR_OTHER
    text = rng.choice(templates).format(o=other, q=rng.choice(SLOTS["person"]))
    return {"label": other, "kind": kind, "text": text}


def _draw_trace(rng: random.Random, cue: str, max_exchanges: int) -> list[str]:
    """Reviewer R's decision per assistant turn [paper: FAIL / PASS / SOLVED, SOLVED ends it].

    The planned length favours longer dialogues; SOLVED cuts it short. A dialogue that runs its
    full length ends on whatever R said last (FAIL or PASS): R gave up rather than solved it.
    """
    p_fail = min(0.95, max(0.02, P_FAIL[cue] + rng.gauss(0.0, P_FAIL_NOISE)))
    planned = rng.choices(range(1, max_exchanges + 1), weights=range(1, max_exchanges + 1))[0]
    trace = []
    for _ in range(planned):
        if rng.random() < p_fail:
            trace.append("FAIL")
        elif rng.random() < P_SOLVED[cue]:
            trace.append("SOLVED")
            break
        else:
            trace.append("PASS")
    return trace


def _first_user_turn(rng, label, cue, scenario_text, para, distractor) -> str:
    emo = TABLE[label]
    parts = [scenario_text]
    if cue == "explicit":
        feeling = _explicit_sentence(rng, label)
    elif cue == "paraphrase":
        feeling = _paraphrase_sentence(rng, para)
    else:
        feeling = None
    if feeling:
        # Feeling first or event first, so the cue is not always in the same place.
        parts = [feeling, scenario_text] if rng.random() < 0.35 else [scenario_text, feeling]
    if distractor:
        parts.insert(rng.randrange(len(parts) + 1), distractor["text"])
    opener = rng.choice(USER_OPENERS[emo.group])
    candidates = [" ".join([opener] + parts).strip(), " ".join(parts)]
    if distractor:  # over budget: keep the cue, drop the distractor
        rest = [p for p in parts if p != distractor["text"]]
        candidates.append(" ".join(rest))
    return _fit(candidates, MAX_USER_WORDS)


def _cue_notes(rng, level: str, label: str, para: str | None) -> tuple[str, str]:
    """(a drawn note on the cue, the level's shortest note as a fallback for the word budget)."""
    drawn = rng.choice(CUE_NOTES[level]).format(w=label, p=para or "")
    shortest = min((n.format(w=label, p=para or "") for n in CUE_NOTES[level]), key=_words)
    return drawn, shortest


def _understanding_candidates(rng, persona, fact_slots, gist3, cue_notes, distractor,
                              followup_reaction=None) -> list[str]:
    cue, short_cue = cue_notes
    slots = dict(fact_slots, mbti=persona["mbti"], A_occ=_cap(persona["a_occ"]), gist=gist3, cue=cue)
    if followup_reaction is None:
        note = DISTRACTOR_NOTES[distractor["kind"]].format(o=distractor["label"]) if distractor else ""
        first = rng.choice(UNDERSTANDING_FIRST)
        return [first.format(**dict(slots, cue=cue + note)), first.format(**slots),
                UNDERSTANDING_FIRST[-1].format(**slots), UNDERSTANDING_SHORT.format(**slots),
                UNDERSTANDING_SHORT.format(**dict(slots, cue=short_cue))]
    slots["reaction"] = followup_reaction
    return [rng.choice(UNDERSTANDING_FOLLOWUP).format(**slots), UNDERSTANDING_FOLLOWUP_SHORT.format(**slots),
            UNDERSTANDING_FOLLOWUP_SHORT.format(**dict(slots, cue=short_cue))]


def _reasoning_candidates(rng, persona, emo: Emotion, appraisal: str) -> list[str]:
    slots = {"a_mbti": f"an {persona['mbti']}", "trait": rng.choice(MBTI_TRAITS[persona["mbti"]]),
             "a_occ": persona["a_occ"], "appraisal": appraisal, "need": rng.choice(emo.needs)}
    return [rng.choice(REASONING).format(**slots), REASONING_SHORT.format(**slots),
            REASONING_BARE.format(**slots)]


def _response_candidates(rng, emo: Emotion, validation: str, fact_slots: dict, fact_kind: str,
                         followup: bool, used: set) -> list[str]:
    openers = FOLLOWUP_OPENERS if followup and rng.random() < 0.5 else OPENERS[emo.group]
    opener = _fresh(rng, openers, used)
    lines = [line.format(**fact_slots) for line in FACT_LINES[emo.group][fact_kind]]
    fact_line, shortest = rng.choice(lines), min(lines, key=_words)
    question = _fresh(rng, QUESTIONS[emo.group], used)
    # Richest first; the barest keeps what the rubric asks of a reply: the situation and a persona fact.
    candidates = [f"{opener} {validation} {fact_line} {question}", f"{opener} {validation} {fact_line}",
                  f"{validation} {shortest}"]
    if fact_line.endswith("?"):  # the fact line already asks; a second question would pile on
        candidates = candidates[1:]
    return candidates


def _fit_turn(understandings: list[str], reasonings: list[str], responses: list[str]) -> tuple[str, str, str]:
    """The richest (understanding, reasoning, response) within the span caps and the turn budget.

    Each list runs from richest to barest. Preference: keep an opener in the response (the
    barest response, validation + persona fact only, comes last), then the reasoning with its
    MBTI trait, then the fullest understanding, then the reply's closing question.
    """
    caps = (MAX_SPAN_WORDS["understanding"], MAX_SPAN_WORDS["reasoning"], MAX_SPAN_WORDS["response"])
    nu, nr, ns = ([_words(x) for x in xs] for xs in (understandings, reasonings, responses))
    last = len(responses) - 1
    for ks in (range(last), (last,)):
        for j in range(len(reasonings)):
            for i in range(len(understandings)):
                for k in ks:
                    if (nu[i] <= caps[0] and nr[j] <= caps[1] and ns[k] <= caps[2]
                            and nu[i] + nr[j] + ns[k] + 1 <= MAX_ASSISTANT_WORDS):  # + the emotion word
                        return understandings[i], reasonings[j], responses[k]
    # Unreachable with the tables' length bounds (tested); keep the turn short rather than fail.
    return understandings[nu.index(min(nu))], reasonings[nr.index(min(nr))], responses[ns.index(min(ns))]


def _fresh(rng: random.Random, options, used: set):
    """A choice not yet used in this dialogue, so a reply does not repeat the previous one's opener."""
    fresh = [o for o in options if o not in used] or list(options)
    choice = rng.choice(fresh)
    used.add(choice)
    return choice


def _followup_user_turn(rng, label, cue, prev_fact, persona, detail_text, para, used) -> tuple[str, str,
                                                                                               str | None]:
    """A user reply: reaction to the last reply, one new detail, sometimes the feeling restated.

    Returns (text, reaction as reported by the analysis, restated cue level or None). Implied
    dialogues never restate the label word, so they stay implied at the word level.
    """
    emo = TABLE[label]
    kind, _ = prev_fact
    if kind in FACT_REACTIONS and rng.random() < 0.4:
        text, report = FACT_REACTIONS[kind]
        slots = _fact_slots(persona, prev_fact)
        reaction, reaction_3p = text.format(**slots), report.format(**slots)
    else:
        reaction, reaction_3p = _fresh(rng, FOLLOWUP_REACTIONS[emo.group], used)
    # A link word ("Also, ") only before "I ...", so no other sentence start needs re-casing.
    detail = rng.choice(DETAIL_LINKS) + detail_text if detail_text.startswith(("I ", "I'")) else detail_text
    restated = None
    if rng.random() < RESTATE_RATE:
        restated = {"explicit": "paraphrase", "paraphrase": "explicit", "implied": "paraphrase"}[cue]
    parts = [reaction, detail]
    if restated == "explicit":
        parts.append(_explicit_sentence(rng, label))
    elif restated == "paraphrase":
        parts.append(_paraphrase_sentence(rng, para))
    text = _fit([" ".join(parts), " ".join(parts[1:])], MAX_USER_WORDS)
    return text, reaction_3p, restated


def _next_fact(rng: random.Random, facts: list, prev) -> tuple:
    # Rotate persona facts across turns so replies do not repeat one hook.
    options = [f for f in facts if f != prev] or facts
    return rng.choice(options)


def _dialogue(rng: random.Random, index: int, persona: dict, fmt: ResponseFormat, max_exchanges: int) -> dict:
    label = _weighted(rng, EMOTION_WEIGHTS)
    emo = TABLE[label]
    cue = _weighted(rng, CUE_WEIGHTS)
    trace = _draw_trace(rng, cue, max_exchanges)

    source = label
    siblings = SHARED_SITUATIONS.get(label, ())
    if siblings and rng.random() < (AMBIGUOUS_IMPLIED_RATE if cue == "implied" else BORROW_RATE):
        source = rng.choice(siblings)
    text_t, gist_t = rng.choice(TABLE[source].scenarios)
    bindings: dict[str, str] = {}
    situation = _fill(text_t, rng, bindings)
    gist3 = _fill(gist_t, None, dict(bindings, **THIRD))
    gist2 = _fill(gist_t, None, dict(bindings, **SECOND))
    paraphrases = rng.sample(emo.paraphrases, 2)  # one for the opening, another for a restatement
    distractor = _draw_distractor(rng, label)

    messages = [{"role": "system", "content": fmt.system_prompt(persona["person"])}]
    user = _first_user_turn(rng, label, cue, situation, paraphrases[0], distractor)
    distractor_kept = distractor if distractor and distractor["text"] in user else None
    cue_notes = _cue_notes(rng, cue, label, paraphrases[0])
    details = rng.sample(emo.details, min(len(emo.details), max(0, len(trace) - 1)))
    # Later turns take the label's other appraisal and validation, so replies do not repeat.
    appraisals = rng.sample(emo.appraisals, len(emo.appraisals))
    validations = rng.sample(emo.validations, len(emo.validations))
    used: set = set()
    fact = None
    # What the analysis reports of the latest user turn: its news, how it reacted, its distractor.
    news, reaction, shown_distractor = gist3, None, distractor_kept
    for turn in range(len(trace)):
        messages.append({"role": "user", "content": user})
        fact = _next_fact(rng, persona["facts"], fact)
        slots = _fact_slots(persona, fact)
        understandings = _understanding_candidates(rng, persona, slots, news, cue_notes, shown_distractor,
                                                   reaction)
        # The reply validates the situation itself; the new detail is acknowledged in understanding.
        validation = validations[turn % len(validations)].format(gist=gist2)
        understanding, reasoning, response = _fit_turn(
            understandings,
            _reasoning_candidates(rng, persona, emo, appraisals[turn % len(appraisals)]),
            _response_candidates(rng, emo, validation, slots, fact[0], turn > 0, used))
        spans = {"understanding": understanding, "reasoning": reasoning, "emotion": label,
                 "response": response}
        messages.append({"role": "assistant", "content": fmt.render(spans)})
        if turn + 1 < len(trace):
            d_text, d_gist = details[turn % len(details)]
            user, reaction, restated = _followup_user_turn(
                rng, label, cue, fact, persona, d_text, paraphrases[1], used)
            news, shown_distractor = _fill(d_gist, None, dict(THIRD)), None
            cue_notes = _cue_notes(rng, restated or "same", label, paraphrases[1])

    return {
        "dialogue_id": f"syn-{index:05d}", "persona_id": persona["persona_id"],
        "anon_username": persona["anon_username"], "person": persona["person"], "mbti": persona["mbti"],
        "emotion": label, "situation": situation, "cue": cue, "messages": messages, "trace": trace,
    }


def generate_corpus(n_dialogues: int, n_personas: int, seed: int, fmt: ResponseFormat,
                    max_exchanges: int = 4) -> list[dict]:
    """``n_dialogues`` synthetic KardiaBench records over ``n_personas`` personas; pure in its arguments.

    ``fmt`` writes the system prompt. Assistant turns are always stored with all four spans, as
    KardiaBench stores them, whatever ``fmt.style`` a run trains: the examples layer renders the
    training target in the run's style, so the response-only ablation reads the same dialogues.
    """
    if n_dialogues < 0 or n_personas < 1 or max_exchanges < 1:
        raise ValueError(f"need n_dialogues >= 0, n_personas >= 1, max_exchanges >= 1; got "
                         f"{n_dialogues}, {n_personas}, {max_exchanges}")
    stored = fmt if fmt.style == "four_span" else ResponseFormat("four_span", fmt.system_template)
    rng = random.Random(seed)
    personas = _make_personas(rng, n_personas)
    return [_dialogue(rng, i, personas[rng.randrange(n_personas)], stored, max_exchanges)
            for i in range(n_dialogues)]


# Public pieces for the construction loop (stages/core/data/synthesis.py): its embedded backend plays
# U, A and R from one scripted dialogue, and its emotion-jump filter uses the confusable clusters.
make_personas = _make_personas
scripted_dialogue = _dialogue


def same_cluster(a: str, b: str) -> bool:
    """Two labels are the same or confusable neighbours (one of ``_CLUSTERS``)."""
    return a == b or b in CLUSTER_OF.get(a, ())


def reviewer_fail_rate(cue: str) -> float:
    """The embedded reviewer's P(FAIL) for a dialogue of this cue level (the corpus's own knob)."""
    return P_FAIL[cue]
