"""Shared fixtures: a small generated company on disk, and clean Streamlit caches."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.sample import SampleCompany, generate

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "sample_data"


@pytest.fixture(scope="session")
def small_company() -> SampleCompany:
    return generate(customers=600, months=3, seed=11)


@pytest.fixture(scope="session")
def small_dir(tmp_path_factory: pytest.TempPathFactory, small_company: SampleCompany) -> Path:
    out = tmp_path_factory.mktemp("small_company")
    small_company.write(out)
    return out


@pytest.fixture(autouse=True)
def _clear_streamlit_caches() -> None:
    # AppTest shares Streamlit's caches between tests; each test starts clean.
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
