"""The county's pages of stars and awards (RULES.md §8, issue 29): the benefits priority list, the
bulletin's figures with spending against the budget, the award ledger, the star catalogue with its
tiers, disqualifying events and goods mapping, and the disqualifications. The county administrator
only: the benefits list names households and marks the poor."""

from __future__ import annotations

import datetime as dt

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms import DateField, DecimalField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional

from hygiene import permissions
from hygiene.enums import CRITERIA, LedgerKind
from hygiene.io.scores import format_yuan, parse_yuan
from hygiene.models import County, Township
from hygiene.models._types import beijing_today
from hygiene.services.awards import award_stats, benefits, ledger, stars
from hygiene.services.awards.catalogue import CatalogueLine, save_catalogue, save_star_settings
from hygiene.services.errors import FieldErrors, NotFound
from web import charts
from web.county.views import bp
from web.database import get_session
from web.downloads import XLSX_MIMETYPE, download
from web.forms import BaseForm
from web.handlers import save
from web.presentation import page_number
from web.security import current_account, login_required, permitted_county


class LedgerEntryForm(BaseForm):
    household = StringField("户编号", validators=[InputRequired("请填写户编号")])
    kind = SelectField("类别", choices=[SelectChoice(k.value, k.label) for k in LedgerKind])
    item = StringField("物品或项目", validators=[InputRequired("请填写物品或项目")])
    value = StringField("金额（元）", render_kw={"inputmode": "decimal"}, validators=[InputRequired("请填写金额")])
    on = DateField("日期（不填为今天）", default=beijing_today, validators=[Optional()])
    submit = SubmitField("登记")


def add_ledger_entry(county: County, form: LedgerEntryForm) -> bool:
    """Save the form's entry through ``ledger.add`` (the township's page uses it too)."""

    def change(session) -> object:  # type: ignore[no-untyped-def]
        try:
            fen = parse_yuan(form.value.data or "", ledger.MAX_VALUE_FEN // 100)
        except ValueError as exc:
            raise FieldErrors({"value": f"{form.value.data!r} {exc}"}) from None
        try:
            household = stars.household_by_code(session, form.household.data or "", county)
        except NotFound:
            raise FieldErrors({"household": f"本县无此户号: {form.household.data}"}) from None
        day = form.on.data or beijing_today()
        entry = ledger.NewEntry(household, LedgerKind(form.kind.data), form.item.data or "", fen, day)
        return ledger.add(session, current_account(), county, entry)

    return bool(save(change, done="已登记", form=form, field=lambda key: key if key in form else "household"))


def _county(county_code: str) -> County:
    return permitted_county(county_code, permissions.can_administer_county)


def _year() -> int:
    text = request.args.get("year", "")
    return int(text) if text.isdigit() and 2000 <= int(text) <= 2100 else beijing_today().year


@bp.get("/benefits")
@login_required
def benefits_list(county_code: str) -> ResponseReturnValue:
    county = _county(county_code)
    if request.args.get("format") == "xlsx":
        data = benefits.priority_xlsx(benefits.priority_list(get_session(), county), f"{county.name}惠民政策优先名单")
        return download(data, f"{county.name}惠民政策优先名单.xlsx", XLSX_MIMETYPE)
    listed = benefits.priority_page(get_session(), county, page_number())
    return render_template("awards/benefits.html", unit_name=county.name, listed=listed, xlsx_url=url_for(
        "county.benefits_list", county_code=county.code, format="xlsx"), stars_url=url_for(
        "county.star_lists", county_code=county.code), industry_url=url_for(
        "county.industry_support", county_code=county.code))  # fmt: skip


class IndustryWishForm(BaseForm):
    household = StringField("户编号", validators=[InputRequired("请填写户编号")])
    wish = SelectField(
        "产业发展意愿", choices=[SelectChoice("yes", "有能力和意愿发展产业"), SelectChoice("no", "取消标记")]
    )
    reason = StringField("原因（如：有养殖技术，愿扩大规模）", validators=[InputRequired("请填写原因")])
    submit = SubmitField("保存标记")


def industry_page(county: County, township: Township | None, back: str) -> ResponseReturnValue:
    """The industry-support view of the county or of one township: the ten-star households, those
    wishing to develop (poor first) at the head, and the form that marks a household."""
    form = IndustryWishForm()
    if form.validate_on_submit():

        def change(session) -> None:  # type: ignore[no-untyped-def]
            try:
                household = stars.household_by_code(session, form.household.data or "", county)
            except NotFound:
                household = None
            if household is None or (township is not None and household.group.village.township_id != township.id):
                raise FieldErrors({"household": f"{'本乡镇' if township else '本县'}无此户号: {form.household.data}"})
            benefits.mark_industry_wish(
                session, current_account(), household, wish=form.wish.data == "yes", reason=form.reason.data or ""
            )

        if save(change, done="已保存产业发展意愿标记", form=form):
            return redirect(back, 303)
    rows = benefits.industry_candidates(get_session(), county, township=township)
    unit_name = township.name if township else county.name
    return render_template(
        "awards/industry.html", unit_name=unit_name, rows=rows, form=form
    ), 422 if form.errors else 200


@bp.route("/industry-support", methods=["GET", "POST"])
@login_required
def industry_support(county_code: str) -> ResponseReturnValue:
    county = _county(county_code)
    return industry_page(county, None, url_for("county.industry_support", county_code=county.code))


@bp.get("/stars.xlsx")
@login_required
def star_lists(county_code: str) -> ResponseReturnValue:
    county = _county(county_code)
    data = benefits.tier_lists_xlsx(stars.holdings(get_session(), county), f"{county.name}星级户名单")
    return download(data, f"{county.name}星级户名单.xlsx", XLSX_MIMETYPE)


@bp.get("/award-stats")
@login_required
def award_statistics(county_code: str) -> ResponseReturnValue:
    county = _county(county_code)
    year = _year()
    session = get_session()
    report = ledger.spending(session, county, year)
    chart = charts.stacked_bars(
        "spending-by-township", f"{year}年各乡镇奖励支出", "各乡镇奖励物资和产业扶持金额（元）",
        [charts.Series("支出", "bar-cleanest")],
        [charts.BarRow(t.name, [fen // 100]) for t, fen in report.by_township], unit="元",
    )  # fmt: skip
    return render_template(
        "county/award_stats.html",
        county=county,
        year=year,
        figures=award_stats.figures(session, county, year),
        report=report,
        chart=chart,
        yuan=format_yuan,
    )


@bp.route("/ledger", methods=["GET", "POST"])
@login_required
def ledger_page(county_code: str) -> ResponseReturnValue:
    county = _county(county_code)
    form = LedgerEntryForm()
    if form.validate_on_submit() and add_ledger_entry(county, form):
        return redirect(url_for("county.ledger_page", county_code=county.code), 303)
    year = _year()
    rows = ledger.entries(get_session(), county, year)
    return render_template(
        "awards/ledger.html", unit_name=county.name, year=year, rows=rows, form=form, yuan=format_yuan,
        remaining=ledger.spending(get_session(), county, year).remaining_fen,
    ), 422 if form.errors else 200  # fmt: skip


class CatalogueForm(BaseForm):
    submit = SubmitField("保存星级目录")


class TitleForm(BaseForm):
    code = StringField("代码（字母或数字）", validators=[InputRequired("请填写代码")])
    name = StringField("称号名称（如：好婆婆）", validators=[InputRequired("请填写名称")])
    certificate = StringField("证书名称")
    submit = SubmitField("新增称号")


class StarSettingsForm(BaseForm):
    bronze = DecimalField("铜星户至少（颗）", places=0)
    silver = DecimalField("银星户至少（颗）", places=0)
    gold = DecimalField("金星户至少（颗）", places=0)
    events = TextAreaField("取消评星资格的情形（每行一项）")
    submit = SubmitField("保存档次和取消资格情形")


def _catalogue_lines(county: County, title: TitleForm | None = None) -> list[CatalogueLine]:
    """The catalogue as posted (``name_<code>``, ``position_<code>``, ``base_<code>``), plus a new title."""
    lines = []
    for star in stars.catalogue(get_session(), county.id):
        position = request.form.get(f"position_{star.code}", str(star.position))
        lines.append(
            CatalogueLine(
                star.code,
                request.form.get(f"name_{star.code}", star.name),
                int(position) if position.isdigit() and len(position) < 4 else star.position,
                base=request.form.get(f"base_{star.code}") == "on" if title is None else star.is_base,
                title=star.is_title,
                certificate=request.form.get(f"certificate_{star.code}", star.certificate or ""),
            )
        )
    if title is not None:
        lines.append(
            CatalogueLine(
                (title.code.data or "").strip(), title.name.data or "", 100 + len(lines), title=True,
                certificate=title.certificate.data or "",
            )
        )  # fmt: skip
    return lines


@bp.route("/stars/catalogue", methods=["GET", "POST"])
@login_required
def star_catalogue(county_code: str) -> ResponseReturnValue:
    county = _county(county_code)
    session = get_session()
    settings = stars.settings_of(session, county.id)
    catalogue_form, title_form = CatalogueForm(prefix="cat"), TitleForm(prefix="title")
    settings_form = StarSettingsForm(prefix="tiers", **({} if request.method == "POST" else {
        "bronze": settings.bronze_stars, "silver": settings.silver_stars, "gold": settings.gold_stars,
        "events": settings.disqualifying_events}))  # fmt: skip
    back = url_for("county.star_catalogue", county_code=county.code)
    actor = current_account()
    if catalogue_form.submit.data and catalogue_form.validate_on_submit():
        lines = _catalogue_lines(county)
        if save(lambda s: save_catalogue(s, actor, county, lines), done="已保存星级目录", form=catalogue_form):
            return redirect(back, 303)
    elif title_form.submit.data and title_form.validate_on_submit():
        lines = _catalogue_lines(county, title_form)
        if save(lambda s: save_catalogue(s, actor, county, lines), done="已新增称号", form=title_form):
            return redirect(back, 303)
    elif settings_form.submit.data and settings_form.validate_on_submit():
        f = settings_form
        if save(
            lambda s: save_star_settings(
                s, actor, county, bronze=int(f.bronze.data or 0), silver=int(f.silver.data or 0),
                gold=int(f.gold.data or 0), events=(f.events.data or "").splitlines(),
            ),
            done="已保存", form=settings_form, field=lambda key: "bronze" if key == "tiers" else key,
        ):  # fmt: skip
            return redirect(back, 303)
    elif request.method == "POST" and request.form.get("goods") == "1":
        saved = save(lambda s: ledger.save_goods_mapping(s, actor, county, _typed_goods()), done="已保存奖励物资对照表")
        if saved:
            return redirect(back, 303)
    invalid = any(f.errors for f in (catalogue_form, title_form, settings_form))
    return render_template(
        "county/star_catalogue.html", county=county, catalogue=stars.catalogue(session, county.id),
        catalogue_form=catalogue_form, title_form=title_form, settings_form=settings_form,
        mapping=ledger.goods_mapping(session, county), criteria=county_criteria(county), yuan=format_yuan,
    ), 422 if invalid else 200  # fmt: skip


def _typed_goods() -> dict[str, tuple[str, int]]:
    """The posted mapping (``item_c01``, ``value_c01`` in yuan ...); a bad amount names its criterion."""
    typed, errors = {}, {}
    for code in CRITERIA:
        text = request.form.get(f"value_{code}", "")
        try:
            typed[code] = (request.form.get(f"item_{code}", ""), parse_yuan(text, 100000))
        except ValueError as exc:
            errors[code] = f"{code}：{text!r} {exc}"
    if errors:
        raise FieldErrors(errors)
    return typed


def county_criteria(county: County) -> list[tuple[str, str]]:
    from hygiene.services.setup import periods

    return [(c.code, c.label) for c in periods.current_rubric(get_session(), county).criteria]


class DisqualifyForm(BaseForm):
    household = StringField("户编号", validators=[InputRequired("请填写户编号")])
    event = SelectField("情形", validate_choice=False)
    occurred_on = DateField("发生日期", default=beijing_today, validators=[InputRequired("请填写日期")])
    note = StringField("说明")
    submit = SubmitField("取消评星资格")


@bp.route("/disqualifications", methods=["GET", "POST"])
@login_required
def disqualification_list(county_code: str) -> ResponseReturnValue:
    county = _county(county_code)
    session = get_session()
    form = DisqualifyForm()
    form.event.choices = [SelectChoice(e, e) for e in stars.disqualifying_events(session, county.id)]
    back = url_for("county.disqualification_list", county_code=county.code)
    if form.validate_on_submit():

        def change(s) -> object:  # type: ignore[no-untyped-def]
            try:
                household = stars.household_by_code(s, form.household.data or "", county)
            except NotFound:
                raise FieldErrors({"household": f"本县无此户号: {form.household.data}"}) from None
            return stars.disqualify(
                s, current_account(), household, event=form.event.data or "",
                occurred_on=form.occurred_on.data or dt.date.min, note=form.note.data or "",
            )  # fmt: skip

        if save(change, done="已取消该户评星资格，所持星级全部摘除", form=form):
            return redirect(back, 303)
    elif request.method == "POST" and (lift_id := request.form.get("lift", "")).isdigit():
        found = next((d for d, _ in stars.disqualifications(session, county) if d.id == int(lift_id)), None)
        if found is not None and save(lambda s: stars.lift(s, current_account(), found), done="已解除"):
            return redirect(back, 303)
    return render_template(
        "county/disqualifications.html", county=county, form=form, rows=stars.disqualifications(session, county)
    ), 422 if form.errors else 200
