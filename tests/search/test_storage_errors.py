"""Study storage: errors never echo a password; a full disk mid-run is one line."""

from __future__ import annotations

import sqlite3

import optuna
import pytest
from sqlalchemy.exc import OperationalError

from ador.errors import AdorError, redact_urls


def test_redact_urls():
    assert redact_urls("postgresql://me:s3cret@db:5432/x") == "postgresql://me:***@db:5432/x"
    assert redact_urls("mysql+pymysql://u:p%40ss@h/d and sqlite:///a.db") == \
        "mysql+pymysql://u:***@h/d and sqlite:///a.db"
    err = AdorError("cannot open postgresql://a:hunter2@h/d", field="storage",
                    value="postgresql://a:hunter2@h/d")
    assert "hunter2" not in err.message() and "postgresql://a:***@h/d" in err.message()


def test_storage_url_password_is_not_echoed(cli, tmp_path):
    r = cli("explore", "--backend", "optuna", "--trials", "4", "--storage",
            "postgresql://ador:topsecret@127.0.0.1:1/studies", "--out-dir", tmp_path,
            "--no-progress")
    assert r.code == 2, r.stderr
    assert "topsecret" not in r.stderr + r.stdout
    assert r.stderr.count("\n") == 1 and "storage" in r.stderr


def test_full_disk_during_an_optuna_run_is_one_line(cli, tmp_path, monkeypatch):
    def full(self, trial):
        raise OperationalError("INSERT INTO trials", {},
                               sqlite3.OperationalError("database or disk is full"))

    monkeypatch.setattr(optuna.Study, "add_trial", full)
    r = cli("explore", "--backend", "optuna", "--trials", "8", "--pop-size", "4",
            "--out-dir", tmp_path, "--no-progress")
    assert r.code == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and "database or disk is full" in r.stderr


@pytest.mark.parametrize("url", ["sqlite:////nonexistent-dir/x/study.db"])
def test_unopenable_storage_names_the_url(cli, tmp_path, url):
    r = cli("explore", "--backend", "optuna", "--trials", "4", "--storage", url,
            "--out-dir", tmp_path, "--no-progress")
    assert r.code == 2 and r.stderr.count("\n") == 1 and "storage" in r.stderr
