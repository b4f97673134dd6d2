"""What the browser tests do on any dashboard page: wait for a run to end, pick options, tick grid rows."""

from __future__ import annotations

import re
import time


def idle(page, settle: float = 0.6) -> None:
    """Wait until the script run is over (the 'Running…' indicator gone) and the page has drawn."""
    page.wait_for_selector("[data-testid=stAppViewContainer]")
    time.sleep(0.3)
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')"
                           " && !document.querySelector('[data-testid=stSkeleton]')", timeout=60_000)
    time.sleep(settle)


def pick(page, label: str, option: str) -> None:
    """Choose `option` in the selectbox labelled `label`."""
    box = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text(label, exact=True)).first
    box.click()
    page.get_by_role("option", name=re.compile(rf"^{re.escape(option)}")).first.click()
    idle(page)


def click_grid_row(page, grid_index: int, row: int) -> None:
    """Tick the selection box of a row of a st.dataframe (a canvas grid)."""
    grid = page.get_by_test_id("stDataFrame").nth(grid_index)
    grid.scroll_into_view_if_needed()
    grid.click(position={"x": 18, "y": 35 * (row + 1) + 17})  # header and rows are 35 px high
    idle(page)


def grid_cells(page, grid_index: int = 0) -> list[str]:
    """The texts of the cells a st.dataframe has drawn (its accessible table mirrors the canvas)."""
    grid = page.get_by_test_id("stDataFrame").nth(grid_index)
    return grid.locator("[role=gridcell]").all_text_contents()
