"""The accountability ladder for the county's administrator (RULES.md §9): the cadres who answer
for each village and township, the proposals the system made (decided or dismissed here), and each
unit's rung."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from hygiene import permissions
from hygiene.enums import AccountabilityRung, CaseState
from hygiene.models import AccountabilityCase, Cadre, County
from hygiene.services.supervision import accountability
from web.county.views import bp
from web.database import get_session
from web.forms import BaseForm, VersionField
from web.handlers import load, save
from web.security import current_account, login_required, permitted_county


class CadreForm(BaseForm):
    unit_code = StringField(
        "单位编码（村：包保干部；乡镇：分管领导）", validators=[DataRequired("请填写单位编码"), Length(max=16)]
    )
    name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=40)])
    title = StringField("职务（可不填）", validators=[Optional(), Length(max=60)])
    submit = SubmitField("添加责任干部")


class RetireForm(BaseForm):
    version = VersionField()
    reason = StringField("原因", validators=[DataRequired("请填写原因"), Length(max=1000)])
    submit = SubmitField("不再担任")


class DecideForm(BaseForm):
    version = VersionField()
    rung = SelectField("问责方式", choices=[SelectChoice(r.value, r.label) for r in AccountabilityRung])
    cadre_id = SelectField("责任干部", coerce=int, validate_choice=False)
    note = TextAreaField("决定说明（警示、免职必填）", validators=[Optional(), Length(max=1000)])
    submit = SubmitField("决定")


class DismissForm(BaseForm):
    version = VersionField()
    note = StringField("不予问责的理由", validators=[DataRequired("请填写理由"), Length(max=1000)])
    submit = SubmitField("不予问责")


def _county(county_code: str) -> County:
    return permitted_county(county_code, permissions.can_administer_county)


def _page(county: County, cadre_form: CadreForm | None = None) -> str:
    session = get_session()
    active = accountability.cadres(session, county, active_only=True)
    proposals = accountability.cases(session, county, state=CaseState.PROPOSED)
    decide_forms = {}
    for case in proposals:
        form = DecideForm(formdata=None, version=case.version, rung=case.proposed_rung.value, cadre_id=case.cadre_id)
        form.cadre_id.choices = [
            (c.id, f"{accountability.unit_name(c)} {c.post.label} {c.name}")
            for c in active
            if c.township_id == case.township_id and c.village_id in (None, case.village_id)
        ]
        decide_forms[case.id] = form
    return render_template(
        "county/accountability.html",
        county=county,
        cadres=accountability.cadres(session, county),
        cadre_form=cadre_form or CadreForm(formdata=None),
        proposals=proposals,
        decide_forms=decide_forms,
        dismiss_form=DismissForm(formdata=None),
        retire_form=RetireForm(formdata=None),
        decided=[c for c in accountability.cases(session, county) if c.state is not CaseState.PROPOSED],
        ladder=accountability.unit_rungs(session, county),
        unit_name=accountability.unit_name,
    )


def _back(county: County) -> ResponseReturnValue:
    return redirect(url_for("county.accountability_page", county_code=county.code), 303)


@bp.route("/accountability", methods=["GET", "POST"])
@login_required
def accountability_page(county_code: str) -> ResponseReturnValue:
    county = _county(county_code)
    form = CadreForm()
    if form.validate_on_submit():
        if save(
            lambda s: accountability.add_cadre(
                s,
                current_account(),
                county,
                unit_code=form.unit_code.data or "",
                name=form.name.data or "",
                title=form.title.data or "",
            ),
            done="已添加责任干部",
            form=form,
        ):
            return _back(county)
        return _page(county, form), 422
    return _page(county, form if form.errors else None), 422 if form.errors else 200


def _cadre(county: County, cadre_id: int) -> Cadre:
    return load(accountability.get_cadre, cadre_id, belongs=lambda c: c.county_id == county.id)


def _case(county: County, case_id: int) -> AccountabilityCase:
    return load(accountability.get_case, case_id, belongs=lambda c: c.county_id == county.id)


def _flash_errors(form: BaseForm) -> None:
    flash("；".join(e for errors in form.errors.values() for e in errors), "error")


@bp.post("/cadres/<int:cadre_id>/retire")
@login_required
def retire_cadre(county_code: str, cadre_id: int) -> ResponseReturnValue:
    county = _county(county_code)
    cadre = _cadre(county, cadre_id)
    form = RetireForm()
    if form.validate_on_submit():
        save(
            lambda s: accountability.retire_cadre(s, current_account(), cadre, form.version.data, form.reason.data),
            done=f"{cadre.name} 已不再担任",
        )
    else:
        _flash_errors(form)
    return _back(county)


@bp.post("/accountability/<int:case_id>/decide")
@login_required
def decide_case(county_code: str, case_id: int) -> ResponseReturnValue:
    county = _county(county_code)
    case = _case(county, case_id)
    form = DecideForm()
    if form.validate_on_submit():
        save(
            lambda s: accountability.decide(
                s,
                current_account(),
                case,
                form.version.data,
                rung=form.rung.data or "",
                cadre_id=form.cadre_id.data,
                note=form.note.data or "",
            ),
            done="已决定问责",
        )
    else:
        _flash_errors(form)
    return _back(county)


@bp.post("/accountability/<int:case_id>/dismiss")
@login_required
def dismiss_case(county_code: str, case_id: int) -> ResponseReturnValue:
    county = _county(county_code)
    case = _case(county, case_id)
    form = DismissForm()
    if form.validate_on_submit():
        save(
            lambda s: accountability.dismiss(s, current_account(), case, form.version.data, form.note.data),
            done="已决定不予问责",
        )
    else:
        _flash_errors(form)
    return _back(county)
