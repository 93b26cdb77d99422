"""The consultations' and ideas' section of digests, and the time it takes managers to answer.

Five queries for a whole batch of communities, whatever their sizes (lists capped per community with
window functions). Hidden and anonymous results stay hidden while a consultation is open.

- median time to first answer: over ideas answered in the period, the time from proposal to the
  manager's answer, and over consultations decided in the period, from closing to the decision.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import and_, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from bot.consultations.service import result_lines, status_label, upvotes
from bot.digest_sections import LIST_LIMIT, DigestBatch, DigestPart, capped
from bot.i18n import _, ngettext
from bot.i18n.formats import duration
from bot.messages import Block, Field, Section
from storage.tables import Consultation, ConsultationOption, Idea


@dataclass
class ConsultationSummary:
    consultation: Consultation
    options: list[ConsultationOption]

    @property
    def total(self) -> int:
        return sum(o.votes for o in self.options)

    def lines(self, closed: bool) -> list[str]:
        c = self.consultation
        head = f"V{c.id} — {c.question}"
        if not closed and (c.hidden or c.anonymous):  # an anonymous tally is shown when it closes too
            return [head + " — " + _("results when it closes") + ", "
                    + ngettext("{n} vote so far", "{n} votes so far", self.total)]
        lines = [head + (" — " + _("closed") if closed else "")]
        lines.extend("    " + line for line in result_lines(self.options))
        if c.decision:
            lines.append("    " + _("Decision: {decision}", decision=c.decision))
        return lines


@dataclass
class ConsultationNews:
    """One community's part: its consultations and ideas of the period, and how fast they were answered."""

    open_consultations: list[ConsultationSummary] = field(default_factory=list)
    closed_consultations: list[ConsultationSummary] = field(default_factory=list)
    new_ideas: list[Idea] = field(default_factory=list)
    answered_ideas: list[Idea] = field(default_factory=list)
    answer_delays: list[float] = field(default_factory=list)  # seconds

    @property
    def has_news(self) -> bool:
        return bool(self.open_consultations or self.closed_consultations or self.new_ideas or self.answered_ideas)

    @property
    def median_answer(self) -> timedelta | None:
        return timedelta(seconds=statistics.median(self.answer_delays)) if self.answer_delays else None

    def blocks(self) -> list[Block]:
        blocks: list[Block] = []
        if self.open_consultations:
            lines = [line for s in self.open_consultations for line in s.lines(closed=False)]
            blocks.append(Section(title=_("Open consultations (vote with vote V<n> <number>)"), lines=tuple(lines)))
        if self.closed_consultations:
            lines = [line for s in self.closed_consultations for line in s.lines(closed=True)]
            blocks.append(Section(title=_("Closed consultations"), lines=tuple(lines)))
        if self.new_ideas:
            blocks.append(Section(title=_("New ideas (support one with idea upvote I<n>)"), lines=tuple(
                f"I{i.id} — {i.text} ({upvotes(i.upvotes)})" for i in self.new_ideas)))
        if self.answered_ideas:
            blocks.append(Section(title=_("Answered ideas"), lines=tuple(
                f"I{i.id} — {i.text} — " + _("{status}: {answer}", status=status_label(i.status),
                                             answer=i.answer or "")
                for i in self.answered_ideas)))
        return blocks

    def figures(self) -> list[Field]:
        median = self.median_answer
        return [Field(_("Median time to first answer"), duration(median) if median else _("no answer"))]


class ConsultationsSection:
    key = "consultations"
    order = 20

    def gather(self, session: Session, batch: DigestBatch) -> Mapping[int, DigestPart]:
        ids, start, end = list(batch.community_ids), batch.start, batch.end
        news = {i: ConsultationNews() for i in ids}
        consultations: dict[int, list[Consultation]] = {i: [] for i in ids}
        for c in session.execute(capped(
                Consultation, Consultation.community_id, (col(Consultation.id),),
                and_(col(Consultation.community_id).in_(ids), col(Consultation.created_at) < end,
                     or_(col(Consultation.closed_at).is_(None),
                         and_(col(Consultation.closed_at) >= start, col(Consultation.closed_at) < end))),
                2 * LIST_LIMIT)).scalars():
            consultations[c.community_id].append(c)
        wanted = [c.id for cs in consultations.values() for c in cs]
        options: dict[int, list[ConsultationOption]] = {}
        if wanted:
            for option in session.exec(select(ConsultationOption)
                                       .where(col(ConsultationOption.consultation_id).in_(wanted))
                                       .order_by(col(ConsultationOption.consultation_id),
                                                 col(ConsultationOption.number))):
                options.setdefault(option.consultation_id, []).append(option)
        for cid, found in consultations.items():
            part = news[cid]
            for c in found:
                summary = ConsultationSummary(c, options.get(c.id or 0, []))
                (part.open_consultations if c.closed_at is None else part.closed_consultations).append(summary)
        for idea in session.execute(capped(
                Idea, Idea.community_id, (col(Idea.upvotes).desc(), col(Idea.id)),
                and_(col(Idea.community_id).in_(ids),
                     or_(and_(col(Idea.created_at) >= start, col(Idea.created_at) < end),
                         and_(col(Idea.answered_at) >= start, col(Idea.answered_at) < end))),
                2 * LIST_LIMIT)).scalars():
            answered = idea.answered_at is not None and start <= idea.answered_at < end
            (news[idea.community_id].answered_ideas if answered else news[idea.community_id].new_ideas).append(idea)
        self._delays(session, ids, batch, news)
        return news

    @staticmethod
    def _delays(session: Session, ids: list[int], batch: DigestBatch, news: dict[int, ConsultationNews]) -> None:
        start, end = batch.start, batch.end
        for cid, created, answered in session.execute(sa_select(
                col(Idea.community_id), col(Idea.created_at), col(Idea.answered_at)).where(
                col(Idea.community_id).in_(ids), col(Idea.answered_at) >= start, col(Idea.answered_at) < end)):
            news[cid].answer_delays.append((answered - created).total_seconds())
        for cid, closed, decided in session.execute(sa_select(
                col(Consultation.community_id), col(Consultation.closed_at), col(Consultation.decided_at)).where(
                col(Consultation.community_id).in_(ids), col(Consultation.decided_at) >= start,
                col(Consultation.decided_at) < end)):
            if closed is not None:
                news[cid].answer_delays.append(max(0.0, (decided - closed).total_seconds()))


SECTION = ConsultationsSection()
