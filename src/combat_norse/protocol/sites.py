"""The 33 sites of the registration (§12), with code, IANA time zone and region.

Codes are the coordinating centre's three-letter site codes; study IDs start with them
(``YNH-007``). Time zones are those of the hospital's city; regions follow §6
(North America / Europe / Asia) and feed minimization.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Region = Literal["north_america", "europe", "asia"]

COUNTRY_REGION: dict[str, Region] = {
    "United States": "north_america",
    "Canada": "north_america",
    "France": "europe",
    "Italy": "europe",
    "Sweden": "europe",
    "United Kingdom": "europe",
    "South Korea": "asia",
}
COUNTRY_ISO: dict[str, str] = {
    "United States": "US",
    "Canada": "CA",
    "France": "FR",
    "Italy": "IT",
    "Sweden": "SE",
    "United Kingdom": "GB",
    "South Korea": "KR",
}


@dataclass(frozen=True)
class SiteInfo:
    code: str
    name: str
    city: str
    state: str
    country: str
    timezone: str

    @property
    def region(self) -> Region:
        return COUNTRY_REGION[self.country]

    @property
    def country_code(self) -> str:
        return COUNTRY_ISO[self.country]


_US = "United States"
SITES: tuple[SiteInfo, ...] = (
    SiteInfo("BAR", "Barrow Institute", "Phoenix", "Arizona", _US, "America/Phoenix"),
    SiteInfo("CCO", "Children's Hospital Colorado", "Aurora", "Colorado", _US, "America/Denver"),
    SiteInfo("YNH", "Yale New Haven Hospital", "New Haven", "Connecticut", _US, "America/New_York"),
    SiteInfo("CNH", "Children's National (DC)", "Washington D.C.", "District of Columbia", _US,
             "America/New_York"),
    SiteInfo("UFL", "University of Florida", "Gainesville", "Florida", _US, "America/New_York"),
    SiteInfo("UCM", "University of Chicago", "Chicago", "Illinois", _US, "America/Chicago"),
    SiteInfo("NWU", "Northwestern University", "Evanston", "Illinois", _US, "America/Chicago"),
    SiteInfo("MGH", "Mass General (MGH)", "Boston", "Massachusetts", _US, "America/New_York"),
    SiteInfo("BID", "Beth Israel Deaconess", "Boston", "Massachusetts", _US, "America/New_York"),
    SiteInfo("BCH", "Boston Children's Hospital", "Boston", "Massachusetts", _US,
             "America/New_York"),
    SiteInfo("MAY", "Mayo Clinic", "Rochester", "Minnesota", _US, "America/Chicago"),
    SiteInfo("UNE", "University of Nebraska", "Lincoln", "Nebraska", _US, "America/Chicago"),
    SiteInfo("NYU", "New York University", "New York", "New York", _US, "America/New_York"),
    SiteInfo("COL", "Columbia University", "New York", "New York", _US, "America/New_York"),
    SiteInfo("MSH", "Mount Sinai (NY)", "New York", "New York", _US, "America/New_York"),
    SiteInfo("CIN", "University of Cincinnati", "Cincinnati", "Ohio", _US, "America/New_York"),
    SiteInfo("CCF", "Cleveland Clinic", "Cleveland", "Ohio", _US, "America/New_York"),
    SiteInfo("OHS", "Oregon Health and Science University", "Portland", "Oregon", _US,
             "America/Los_Angeles"),
    SiteInfo("CHP", "Children's Hospital Philadelphia (CHOP)", "Philadelphia", "Pennsylvania",
             _US, "America/New_York"),
    SiteInfo("UPN", "University of Pennsylvania", "Philadelphia", "Pennsylvania", _US,
             "America/New_York"),
    SiteInfo("UTS", "UT Southwestern Medical Center", "Dallas", "Texas", _US, "America/Chicago"),
    SiteInfo("TCH", "Baylor/Texas Children's", "Houston", "Texas", _US, "America/Chicago"),
    SiteInfo("SCH", "Seattle Children's Hospital", "Seattle", "Washington", _US,
             "America/Los_Angeles"),
    SiteInfo("UWI", "University of Wisconsin", "Madison", "Wisconsin", _US, "America/Chicago"),
    SiteInfo("MCW", "Medical College of Wisconsin", "Milwaukee", "Wisconsin", _US,
             "America/Chicago"),
    SiteInfo("WES", "Western University", "London", "Ontario", "Canada", "America/Toronto"),
    SiteInfo("SKH", "Hospital for Sick Children", "Toronto", "Ontario", "Canada",
             "America/Toronto"),
    SiteInfo("PSL", "Salpêtrière", "Paris", "", "France", "Europe/Paris"),
    SiteInfo("MOD", "University of Modena", "Modena", "", "Italy", "Europe/Rome"),
    SiteInfo("SNU", "Seoul National University Hospital", "Seoul", "", "South Korea",
             "Asia/Seoul"),
    SiteInfo("KAR", "Karolinska Institute", "Stockholm", "", "Sweden", "Europe/Stockholm"),
    SiteInfo("GOS", "Great Ormond Street Hospital", "London", "", "United Kingdom",
             "Europe/London"),
    SiteInfo("KCL", "King's College", "London", "", "United Kingdom", "Europe/London"),
)  # fmt: skip

SITES_BY_CODE: dict[str, SiteInfo] = {s.code: s for s in SITES}
