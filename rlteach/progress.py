"""Progress bars: ``tqdm.auto``'s, except that in a notebook a finished bar leaves a line of text.

tqdm's notebook bar is an ipywidget. Its output also carries a text line for readers without a kernel (GitHub,
nbviewer, a PDF), but tqdm writes that line once, when the bar appears ("measuring:   0%|   | 0/10"), so a
notebook saved after the run shows it stuck at 0%. The bar here is the same widget while it runs (JupyterLab
draws it live); when it closes, its output is replaced by its last line of text

    measuring: 100%|██████████| 10/10 [00:15<00:00,  1.94s/it]

and its widgets are closed: every reader sees the same finished line, and the saved notebook keeps no widget.
Outside a notebook ``tqdm`` is tqdm's own text bar.
"""

from __future__ import annotations

from IPython.display import display
from tqdm import auto, notebook

from rlteach.widget_parts import mime_bundle


class NotebookBar(notebook.tqdm):
    """tqdm's notebook bar, displayed with a display id so that ``close()`` can leave its text line instead."""

    handle = None                                     # the output's display handle while the bar is shown

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs, display=False)
        if not self.disable:
            self.handle = display(mime_bundle(self.container, self.text()), raw=True, display_id=True)
            self.displayed = True

    def text(self) -> str:
        """The bar as one line of text, as IPython shows tqdm's widget (its bar drawn with block characters)."""
        return self.container.__repr__(pretty=True)

    def close(self):
        handle, self.handle = self.handle, None       # close() runs again from __del__
        super().close()
        if handle is not None:
            handle.update({"text/plain": self.text() if self.leave else ""}, raw=True)
            for part in (*self.container.children, self.container):
                part.close()


# tqdm.auto picked the notebook bar where an IPython kernel with ipywidgets runs this process
tqdm = NotebookBar if issubclass(auto.tqdm, notebook.tqdm) else auto.tqdm
