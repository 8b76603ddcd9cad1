"""Several catalogs, one server: `/d/{name}/...` routes per domain beside the default domain's plain routes,
one LLM for all of them, and threads and profiles that stay inside their domain."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from graph.agent import Agent, make_deps
from graph.builder import build_graph
from serving.app import create_app
from serving.settings import Settings
from tests.conftest import SHOP
from tests.integration.serving_support import COMEDY_PLAN, StreamingScriptedLLM, client_for, parse_sse

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fresh_sse")]
PUZZLE_PLAN = {"like": ["Portal Quest"], "steps": [
    {"tool": "filter", "where": [{"col": "tags", "op": "contains", "val": "puzzle"}]},
    {"tool": "rank", "by": "popularity", "prefer": [], "avoid": []}]}
ML_PLAN = {**COMEDY_PLAN, "like": ["Toy Story"]}


@pytest.fixture(scope="module")
def shop_domain(ml_domain_indexed, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The tiny game shop, built into the same artifacts root as MovieLens (one --artifacts for both)."""
    from models.artifacts import artifacts_dir
    from models.build import build_domain
    from models.config import load_config
    from models.domain import Domain

    src = tmp_path_factory.mktemp("shop-src") / "shop"
    shutil.copytree(SHOP, src)
    cfg = load_config(src)
    art = artifacts_dir(cfg, ml_domain_indexed.artifacts.parent)
    build_domain(cfg, art, progress=False, index=True)
    return Domain(cfg, art)


def two_domain_app(ml: Any, shop: Any, llm: StreamingScriptedLLM, memory: Path) -> Any:
    """Both agents share one scripted LLM and one checkpointer, as `serve --domain A --domain B` does."""

    def factory(checkpointer: Any) -> list[Agent]:
        agents = []
        for domain in (ml, shop):
            deps = make_deps(domain, llm, memory_path=memory, use_models=False)
            deps.code_plans = False
            agents.append(Agent(deps, build_graph(deps, checkpointer)))
        return agents

    s = Settings(domain=str(ml.config.root), extra_domains=[str(shop.config.root)],
                 checkpoint_url=f"sqlite:///{memory / 'threads.sqlite'}", memory_dir=memory, warmup=False)
    return create_app(s, factory)


async def _turn(c: Any, path: str, message: str, thread: str) -> dict[str, Any]:
    r = await c.post(path, json={"message": message, "thread_id": thread})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_two_catalogs_one_server(ml_domain_indexed, shop_domain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    llm = StreamingScriptedLLM(plans=[ML_PLAN, PUZZLE_PLAN, ML_PLAN])
    app = two_domain_app(ml_domain_indexed, shop_domain, llm, tmp_path)
    async with client_for(app, **{"X-User-Id": "ann"}) as c:
        listed = (await c.get("/domains")).json()
        assert listed["default"] == "movielens"
        assert [(d["name"], d["item_word"], d["prefix"]) for d in listed["domains"]] == [
            ("movielens", "movie", "/d/movielens"), ("shop", "game", "/d/shop")]
        assert (await c.get("/d/shop/health")).json()["items"] == 12
        assert (await c.get("/health")).json()["domain"] == "movielens"  # the plain routes: the default domain
        r = await c.get("/d/nowhere/items?title=x")
        assert r.status_code == 404 and "shop" in r.json()["detail"]

        # the same user and thread id in both catalogs: two conversations, one LLM
        ml = await _turn(c, "/d/movielens/chat", "a comedy, I loved Toy Story", "t1")
        shop = await _turn(c, "/d/shop/chat", "a puzzle game like Portal Quest", "t1")
        assert ml["items"] and shop["items"]
        assert all("Comedy" in ml_domain_indexed.items.loc[i["iid"], "genres"] for i in ml["items"])
        assert {i["title"] for i in shop["items"]} <= set(shop_domain.titles)
        assert not {i["title"] for i in shop["items"]} & set(ml_domain_indexed.titles)
        assert llm.count("plan") == 2

        ml_hist = (await c.get("/threads/t1")).json()  # plain route == default domain's thread
        shop_hist = (await c.get("/d/shop/threads/t1")).json()
        assert [m["text"] for m in ml_hist["messages"] if m["role"] == "user"] == ["a comedy, I loved Toy Story"]
        assert [m["text"] for m in shop_hist["messages"] if m["role"] == "user"] == ["a puzzle game like Portal Quest"]
        assert (await c.get("/d/movielens/threads/t1")).json()["messages"] == ml_hist["messages"]

        # the default domain's thread goes on at its plain route too, streamed
        r = await c.post("/chat/stream", json={"message": "another comedy", "thread_id": "t1"})
        final = [d for e, d in parse_sse(r.text) if e == "final"]
        assert final and final[0]["items"]
        hist = (await c.get("/d/movielens/threads/t1")).json()
        assert [m["text"] for m in hist["messages"] if m["role"] == "user"][-1] == "another comedy"
        assert len((await c.get("/d/shop/threads/t1")).json()["messages"]) == 2

        # profiles: each catalog learned its own likes; forgetting one keeps the other
        ml_prof, shop_prof = (await c.get("/profile")).json(), (await c.get("/d/shop/profile")).json()
        assert ml_prof["domain"] == "movielens" and shop_prof["domain"] == "shop"
        assert any("Toy Story" in x for x in ml_prof["like"]) and not any("Portal" in x for x in ml_prof["like"])
        assert any("Portal Quest" in x for x in shop_prof["like"]) and not any("Toy" in x for x in shop_prof["like"])
        assert (await c.delete("/d/shop/profile")).json()["cleared"]
        assert not (await c.get("/d/shop/profile")).json()["like"]
        assert (await c.get("/profile")).json()["like"] == ml_prof["like"]

        # catalog look-ups answer from their own catalog
        found = (await c.get("/d/shop/items?title=portal quest&k=1")).json()["matches"]
        assert found[0]["title"] == "Portal Quest"
        assert (await c.get("/items?title=toy story&k=1")).json()["matches"][0]["title"].startswith("Toy Story")


async def test_default_factory_builds_every_domain_on_one_llm(ml_domain_indexed, shop_domain, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import models.llm_factory
    from serving.app import default_agent_factory

    made: list[StreamingScriptedLLM] = []

    def one_llm(*_: Any, **__: Any) -> StreamingScriptedLLM:
        made.append(StreamingScriptedLLM())
        return made[-1]

    monkeypatch.setattr(models.llm_factory, "get_chat_model", one_llm)
    s = Settings(domain=str(ml_domain_indexed.config.root), extra_domains=[str(shop_domain.config.root)],
                 artifacts=str(ml_domain_indexed.artifacts.parent), memory_dir=tmp_path)
    agents = default_agent_factory(s)(None)
    assert isinstance(agents, list) and [a.deps.domain.name for a in agents] == ["movielens", "shop"]
    assert len(made) == 1 and all(a.deps.llm is made[0] for a in agents)


def test_domains_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTEREC_DOMAINS", "data/movielens, /srv/shop")
    s = Settings.from_env()
    assert s.domain == "data/movielens" and s.domains == ["data/movielens", "/srv/shop"]
    monkeypatch.delenv("INTEREC_DOMAINS")
    monkeypatch.setenv("INTEREC_DOMAIN", "/srv/shop")
    assert Settings.from_env().domains == ["/srv/shop"]


def test_web_page_lets_the_user_pick_a_catalog(ml_domain_indexed, shop_domain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """In headless Chromium (skips without Debian's chromium + chromium-driver): the page lists both catalogs,
    a turn in the picked one answers from it, and each catalog keeps its own conversation."""
    pytest.importorskip("selenium")
    from tests.integration.test_serving_browser import _browser

    chrome, driver_path = _browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from tests.integration.serving_support import ServerThread

    os.environ.setdefault("SE_OFFLINE", "true")
    opts = Options()
    opts.binary_location = chrome
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--window-size=1100,900", f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(flag)
    llm = StreamingScriptedLLM(plans=[PUZZLE_PLAN])
    app = two_domain_app(ml_domain_indexed, shop_domain, llm, tmp_path)
    drv = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    try:
        with ServerThread(app) as server:
            drv.get(server.url + "/")
            wait = WebDriverWait(drv, 90)
            wait.until(lambda d: d.find_element(By.ID, "catalog-box").is_displayed())
            picker = Select(drv.find_element(By.ID, "catalog"))
            assert [o.get_attribute("value") for o in picker.options] == ["movielens", "shop"]
            assert "movielens" in drv.find_element(By.ID, "domain").text
            picker.select_by_value("shop")
            wait.until(lambda d: "shop (12 games)" in d.find_element(By.ID, "domain").text)
            drv.find_element(By.ID, "msg").send_keys("a puzzle game like Portal Quest")
            drv.find_element(By.ID, "send").click()
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".turn.done"))
            titles = [c.find_element(By.TAG_NAME, "h3").text for c in drv.find_elements(By.CSS_SELECTOR, ".cards .card")]
            assert titles and set(titles) <= set(shop_domain.titles)
            shot = tmp_path / "web_catalogs.png"
            drv.save_screenshot(str(shot))
            if os.environ.get("INTEREC_SCREENSHOT_DIR"):
                Path(os.environ["INTEREC_SCREENSHOT_DIR"]).mkdir(parents=True, exist_ok=True)
                shutil.copy(shot, Path(os.environ["INTEREC_SCREENSHOT_DIR"]) / shot.name)
            # the other catalog has its own (empty) conversation; coming back restores the shop's
            Select(drv.find_element(By.ID, "catalog")).select_by_value("movielens")
            wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, ".msg"))
            Select(drv.find_element(By.ID, "catalog")).select_by_value("shop")
            wait.until(lambda d: [m.text for m in d.find_elements(By.CSS_SELECTOR, ".msg.user")]
                       == ["a puzzle game like Portal Quest"])
            assert drv.execute_script("return localStorage.getItem('interec.catalog')") == "shop"
            assert llm.count("plan") == 1
    finally:
        drv.quit()
