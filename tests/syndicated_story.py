"""One made-up wire story as three outlets ran it, and two other stories on the same topic: the
test data of near-copy detection (tests/test_nearcopy.py, tests/kb/test_copies.py)."""

from __future__ import annotations

from citeqa.schema import Article

WIRE = (
    "The ferry between Baku and Aktau resumed service on Tuesday after a three-week pause caused by "
    "winter storms on the Caspian Sea, the port authority said.\n\n"
    "The vessel Professor Gul carried 120 passengers and 42 trucks on its first crossing, which took "
    "about 26 hours, according to a statement from the Baku International Sea Trade Port.\n\n"
    "Officials said the pause had left more than 300 trucks waiting at the Alat terminal, and that "
    "extra sailings would be added this week to clear the queue. Drivers had complained of long "
    "waits and of food running short at the terminal.\n\n"
    "The route is part of the Middle Corridor, which links China with Europe across Kazakhstan, the "
    "Caspian and the South Caucasus, and has carried growing volumes of cargo since 2022.\n\n"
    "Port officials expect daily crossings to return by the end of the month if the weather holds. "
    "Traders welcomed the news, saying the pause had cost exporters millions of dollars."
)

# Another outlet: its dateline, "three-week" and two more words changed, a footer added.
REUTERS = (
    "BAKU (Reuters) - "
    + WIRE.replace("three-week", "three week")
    .replace("winter storms", "heavy storms")
    .replace("about 26", "around 26")
    + "\n\nReporting by Jane Doe; Editing by John Smith. Follow us on Twitter @reuters."
)

# A local paper: the last paragraph cut, one sentence shortened.
TRIMMED = WIRE.rsplit("\n\n", 1)[0].replace(
    " Drivers had complained of long waits and of food running short at the terminal.", ""
)

# Same topic (the same ferry, the same week), a different story written by someone else.
OTHER_SAME_TOPIC = (
    "Truck drivers stranded at the Alat terminal near Baku said on Monday that they had waited for "
    "nearly three weeks as storms kept the Caspian ferries in port.\n\n"
    "Many of the drivers, most of them from Georgia and Turkey, slept in their cabs and relied on "
    "local volunteers for hot meals, one of them told reporters.\n\n"
    "The port authority has said that the Professor Gul would sail for Aktau as soon as the wind "
    "dropped, and that priority would go to perishable cargo. Kazakh officials said a second vessel "
    "could be sent from Aktau to help clear the backlog.\n\n"
    "Freight forwarders said the delays showed how much the Middle Corridor still depends on a "
    "handful of ships, and called for new vessels to be ordered."
)

OTHER_TOPIC = (
    "The bridge over the Kura river in Mingachevir opened to traffic on Monday after two years of "
    "construction, the ministry of digital development and transport said. Engineers said the "
    "four-lane bridge can carry 20,000 vehicles a day, and a second bridge is planned upstream."
)


def story_articles() -> list[Article]:
    """The three copies (the wire's first, then Reuters', then the trimmed one), the same-topic story
    and an unrelated one."""
    return [
        Article(
            "wire", "Caspian ferry resumes after storms", WIRE, "Wire", published="2024-03-05T07:15:00+04:00"
        ),
        Article(
            "reuters",
            "Baku-Aktau ferry back in service",
            REUTERS,
            "Reuters",
            published="2024-03-05T09:00:00+04:00",
        ),
        Article("local", "Ferry sails again", TRIMMED, "Local Herald", published="2024-03-05T10:30:00+04:00"),
        Article(
            "drivers",
            "Stranded drivers wait for ferry",
            OTHER_SAME_TOPIC,
            "Caspian News",
            published="2024-03-04",
        ),
        Article("bridge", "Kura bridge opens", OTHER_TOPIC, "Wire", published="2024-03-01"),
    ]
