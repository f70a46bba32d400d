"""Build a dataset in the page: name classes, add files or camera photos to each, see and remove them.

The draft lives on the server, one per visitor (``ui.stores.DATASET_DRAFTS``: a disk budget for
all, half an hour unused), in a folder of its own; the page shows its images from there. Fine-tuning
turns it into a zip (``dataset_zip_for``) and reads that exactly like an upload, so every limit and
check of the zip path applies; the same zip is what "Download as zip" gives.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import gradio as gr

from nets.data.dataset_builder import DatasetDraft, DraftError
from nets.data.images import ImageError
from nets.facts import Refusal
from ui.addresses import client_address
from ui.budgets import ZIP_LIMITS
from ui.ids import BUILDER_QUEUE
from ui.scratch import DRAFTS
from ui.session_store import NoRoom
from ui.stores import DATASET_DRAFTS
from ui.text import T, error, fill_in, refusal, say, tell

# After a camera photo is added the component is emptied; this opens the camera again at once,
# so the next photo is one click away (as in Teachable Machine).
REOPEN_CAMERA_JS = """() => {
  const started = Date.now();
  const reopen = () => {  // the emptied camera shows its "access webcam" button again: press it
    const button = document.querySelector('#builder-camera [title="grant webcam access"] button');
    if (button) button.click();
    else if (Date.now() - started < 3000) setTimeout(reopen, 50);
  };
  reopen();
}"""


def bring_into_view_js(selector: str, through: str | None = None, room: int = 0) -> str:
    """Browser code that scrolls the element ``selector`` to the top of the window once it shows (it
    may appear a moment later), unless it is already in view down to the end of ``through`` (itself
    by default) with ``room`` px below its top for what will appear there: what confirms an action
    comes into sight instead of happening below the fold."""
    return f"""() => {{
  const started = Date.now();
  let reached = null;  // where the last scroll got to: the page may be too short at first, and grow
  const show = () => {{
    const shown = document.querySelector({selector!r});
    const again = () => Date.now() - started < 20000 && setTimeout(show, 200);
    if (!shown || shown.offsetParent === null) return again();
    if (reached !== null && window.scrollY < reached - 40) return;  // the visitor scrolled up: leave it be
    const top = shown.getBoundingClientRect().top;
    const bottom = (document.querySelector({through or selector!r}) || shown).getBoundingClientRect().bottom;
    if (top < 0 || Math.max(bottom, top + {room}) > window.innerHeight) {{
      window.scrollTo({{top: window.scrollY + top - 8}});
      reached = window.scrollY;
      if (shown.getBoundingClientRect().top > 12) again();  // not at the top yet: more page is to come
    }}
  }};
  show();
}}"""


BUILDER_CONCURRENCY = 2  # images decoded at once, for all visitors (each add decodes a few)
ZIP_NAME = "my_dataset.zip"
CSS = """
#builder-camera, #builder-files { min-height: 220px; }
#builder-counts .bc-row { display: flex; flex-wrap: wrap; gap: 6px; }
#builder-counts .bc-class { padding: 2px 10px; border-radius: 999px; border: 1px solid var(--border-color-primary); }
#builder-counts .bc-short { border-color: var(--color-accent); }
/* a gallery's label sits over the top of its box: the thumbnails start below it, not under it */
.thumbnails .grid-wrap { padding-top: calc(var(--size-2) + 28px); }
"""

fill_in(
    "builder_limits",
    classes=ZIP_LIMITS.max_classes,
    images=f"{ZIP_LIMITS.max_images:,}",
    per_class=ZIP_LIMITS.min_images_per_class,
    file_mb=ZIP_LIMITS.max_file_bytes // 1_000_000,
    megapixels=ZIP_LIMITS.max_pixels // 1_000_000,
    total_mb=ZIP_LIMITS.max_zip_bytes // 1_000_000,
)


def session_of(request: gr.Request | None) -> str:
    return request.session_hash if request is not None and request.session_hash else ""


def keep(request: gr.Request | None, draft: DatasetDraft) -> None:
    """Keep the visitor's draft (its size counted again) against their address's share of the drafts
    budget: a stranger's many drafts push out their own older ones, never an idle visitor's."""
    scope = getattr(getattr(request, "request", None), "scope", None)
    try:
        DATASET_DRAFTS.put(session_of(request), draft, address=client_address(scope) if scope else "")
    except NoRoom:  # larger than the address's whole share (not with the shipped budgets)
        DATASET_DRAFTS.discard(session_of(request))
        raise error(request, "builder_no_room") from None


def draft_of(request: gr.Request | None, create: bool = False) -> DatasetDraft | None:
    """The visitor's draft (None if there is none), or a new empty one with ``create``. A draft
    deleted to make room, or after half an hour unused, is reported as a ``gr.Error``."""
    session = session_of(request)
    draft = DATASET_DRAFTS.get(session)
    if draft is None and not create and DATASET_DRAFTS.released(session):
        raise error(request, "builder_released")
    if draft is None and create:
        draft = DatasetDraft(DRAFTS / uuid.uuid4().hex, limits=ZIP_LIMITS)  # a name nobody can guess
        keep(request, draft)
    return draft


def counts_html(request: gr.Request | None, draft: DatasetDraft | None) -> str:
    """Images per class as chips; classes short of the minimum are marked."""
    if draft is None or not draft.classes:
        return say(request, "builder_no_classes")
    minimum = ZIP_LIMITS.min_images_per_class
    chips = "".join(
        f'<span class="bc-class{" bc-short" if n < minimum else ""}">'
        f"{say(request, 'builder_count', name=name, n=n)}</span>"
        for name, n in draft.counts().itertuples(index=False)
    )
    short = draft.short_classes()
    note = (
        say(request, "builder_needs_more", minimum=minimum)
        if short
        else say(request, "builder_ready", images=draft.image_count, classes=len(draft.classes))
    )
    return f'<div class="bc-row">{chips}</div><p>{note}</p>'


def gallery_value(request: gr.Request | None, draft: DatasetDraft | None, class_name: str | None):
    """The chosen class's images (paths in the draft's folder), labelled with the count."""
    items = draft.images.get(class_name, []) if draft is not None and class_name else []
    label = (
        say(request, "builder_gallery", markup="text", name=class_name, n=len(items))
        if class_name
        else say(request, "builder_gallery_none", markup="text")
    )
    return gr.update(value=[(str(item.path), item.name) for item in items] or None, label=label, selected_index=None)


def view(request: gr.Request | None, draft: DatasetDraft | None, class_name: str | None):
    """(class choice, counts, gallery) for the draft as it is now."""
    classes = draft.classes if draft is not None else []
    chosen = class_name if class_name in classes else (classes[0] if classes else None)
    return (
        gr.update(choices=classes, value=chosen),
        counts_html(request, draft),
        gallery_value(request, draft, chosen),
    )


def warn(problem: gr.Error, outputs: int, cleared: int = 0) -> tuple:
    """Show ``problem`` as a toast, and leave the builder as it was: ``outputs`` untouched, then
    ``cleared`` inputs emptied (so files refused now are not added again with the next ones).

    The builder's mistakes are small and easy to undo (nothing selected, no class named yet), so
    they are told, not raised: a raised error would also mark every output of the event with an
    "Error" badge and cover the gallery until the next change."""
    gr.Warning(problem.message, title=problem.title)
    return (*(gr.skip() for _ in range(outputs)), *(None for _ in range(cleared)))


def set_classes(text: str, class_name: str | None, request: gr.Request = None):
    """Name the classes (images of classes still named stay)."""
    draft = draft_of(request, create=True)
    try:
        dropped = draft.set_classes(text or "")
    except DraftError as problem:
        return warn(refusal(request, problem), 3)
    keep(request, draft)
    if dropped:
        gr.Info(say(request, "builder_dropped", markup="text", n=dropped))
    return view(request, draft, class_name)


def add_images(paths: list[str] | str | None, class_name: str | None, request: gr.Request = None):
    """Add files (or one camera photo) to the chosen class. Files that cannot be used are named
    in one message; the others are added."""
    draft = draft_of(request)
    if draft is None or not draft.classes:
        return warn(error(request, "builder_name_classes_first"), 3, cleared=1)
    if not class_name:
        return warn(error(request, "builder_pick_class"), 3, cleared=1)
    camera = isinstance(paths, str)  # one photo from the camera (the browser calls each "image.png")
    named = [paths] if camera else list(paths or [])
    # A file named more than once in one add is decoded and added once: one upload named forty
    # times would otherwise cost forty decodes (a 49-megapixel PNG: 0.6 CPU-s each). A file sent
    # again under its name has the same path (Gradio keeps uploads by content); another copy under
    # another name is another upload, counted against the address's upload budgets by the guard.
    paths = list(dict.fromkeys(named))
    if len(paths) < len(named):
        gr.Info(say(request, "builder_named_again", markup="text", n=len(named) - len(paths)))
    added, problems = 0, []
    for path in paths:
        name = f"camera_{len(draft.images.get(class_name, [])) + 1}.jpg" if camera else Path(path).name
        try:
            draft.add(class_name, path, name=name)
            added += 1
        except DraftError as problem:
            if problem.code in (
                "draft_unknown_class",
                "draft_full_images",
                "draft_full_bytes",
                "draft_too_many_pixels",
            ):
                problems.append(tell(request, problem.fact))
                break  # the rest cannot fit either
            problems.append(tell(request, problem.fact))
        except ImageError as problem:
            problems.append(tell(request, problem.fact, subject=None))
    keep(request, draft)
    if problems and not added:
        return warn(gr.Error(" ".join(problems[:3]), title=say(request, "builder_not_added_title")), 3, cleared=1)
    if problems:
        gr.Warning(
            say(request, "builder_some_not_added", markup="text", n=len(paths) - added) + " " + " ".join(problems[:3]),
            title=say(request, "builder_not_added_title"),
        )
    choice, counts, gallery = view(request, draft, class_name)
    return choice, counts, gallery, None  # the input is emptied, ready for the next ones


def show_class(class_name: str | None, request: gr.Request = None):
    draft = draft_of(request)
    return gallery_value(request, draft, class_name), None


def chosen_image(selection: gr.SelectData) -> int | None:
    """The index of the image the visitor clicked in the gallery."""
    return selection.index if selection.selected else None


def remove_image(class_name: str | None, index: int | None, request: gr.Request = None):
    draft = draft_of(request)
    if draft is None or index is None or not class_name:
        return warn(error(request, "builder_select_first"), 4)
    try:
        draft.remove(class_name, int(index))
    except DraftError as problem:
        return warn(refusal(request, problem), 4)
    keep(request, draft)
    return (*view(request, draft, class_name), None)


def clear_class(class_name: str | None, request: gr.Request = None):
    draft = draft_of(request)
    if draft is None or not class_name:
        return warn(error(request, "builder_pick_class"), 4)
    try:
        draft.clear_class(class_name)
    except DraftError as problem:
        return warn(refusal(request, problem), 4)
    keep(request, draft)
    return (*view(request, draft, class_name), None)


def dataset_zip_for(request: gr.Request | None) -> str:
    """The visitor's draft as a zip file (in the draft's folder), or a ``gr.Error`` saying what it
    still needs: classes, or more images in some."""
    draft = draft_of(request)
    if draft is None or not draft.classes:
        raise error(request, "builder_name_classes_first")
    short = draft.short_classes()
    if short:
        raise refusal(
            request,
            Refusal("zip_too_few_images", classes=short, minimum=ZIP_LIMITS.min_images_per_class, failed=0),
            title="builder_not_ready_title",
        )
    path = draft.to_zip(draft.folder / ZIP_NAME)
    keep(request, draft)
    return str(path)


def download_zip(request: gr.Request = None):
    return gr.update(value=dataset_zip_for(request), visible=True)


def thumbnail_gallery(label: str, elem_id: str, **options) -> gr.Gallery:
    """Images six to a row that stay thumbnails (fit_columns=False: two images do not stretch to the
    page's width); ``options`` are the gallery's own (height, object_fit, ...)."""
    return gr.Gallery(
        label=label, columns=6, fit_columns=False, elem_id=elem_id, elem_classes=["thumbnails"], **options
    )


def build_builder() -> dict[str, gr.components.Component]:
    """The builder's components (inside the fine-tune tab's "Build it here" tab)."""
    gr.Markdown(T("builder_intro"))
    with gr.Row(equal_height=True):
        names = gr.Textbox(
            label=T("builder_names"),
            placeholder=T("builder_names_placeholder"),
            info=T("builder_names_info"),
            scale=4,
            elem_id="builder-names",
        )
        name_button = gr.Button(T("builder_set"), scale=1, min_width=120, elem_id="builder-set")
    chosen = gr.Radio([], label=T("builder_class"), info=T("builder_class_info"), elem_id="builder-class")
    with gr.Row(equal_height=False):
        with gr.Column(min_width=260):
            files = gr.File(
                label=T("builder_files"),
                file_count="multiple",
                file_types=["image"],
                type="filepath",
                elem_id="builder-files",
            )
        with gr.Column(min_width=260):
            camera = gr.Image(
                label=T("builder_camera"),
                sources=["webcam"],
                type="filepath",
                image_mode=None,
                elem_id="builder-camera",
                webcam_options=gr.WebcamOptions(mirror=False),
            )
    counts = gr.HTML(T("builder_no_classes"), elem_id="builder-counts")
    gallery = thumbnail_gallery(
        T("builder_gallery_none"), "builder-gallery", height=260, object_fit="cover", allow_preview=False
    )
    selected = gr.State(None)  # the index of the image clicked in the gallery
    with gr.Row():
        remove = gr.Button(T("builder_remove"), size="sm", elem_id="builder-remove")
        clear = gr.Button(T("builder_clear"), size="sm", elem_id="builder-clear")
        download = gr.Button(T("builder_download"), size="sm", elem_id="builder-download")
    zip_file = gr.File(label=T("builder_zip"), interactive=False, visible=False, elem_id="builder-zip")
    with gr.Accordion(T("builder_limits_title"), open=False):
        gr.Markdown(T("builder_limits"))

    shown = [chosen, counts, gallery]
    common = {"api_visibility": "private", "concurrency_id": BUILDER_QUEUE, "concurrency_limit": BUILDER_CONCURRENCY}
    gr.on([name_button.click, names.submit], set_classes, [names, chosen], shown, **common)
    files.upload(add_images, [files, chosen], [*shown, files], show_progress="minimal", **common).then(
        None, None, None, js=bring_into_view_js("#builder-counts", "#builder-gallery"), api_visibility="private"
    )  # the counts and the thumbnails that confirm the files come into view
    camera.input(add_images, [camera, chosen], [*shown, camera], show_progress="minimal", **common).then(
        None, None, None, js=REOPEN_CAMERA_JS, api_visibility="private"
    )
    chosen.change(show_class, chosen, [gallery, selected], api_visibility="private", show_progress="hidden")
    gallery.select(chosen_image, None, selected, api_visibility="private", show_progress="hidden", queue=False)
    remove.click(remove_image, [chosen, selected], [*shown, selected], **common)
    clear.click(clear_class, chosen, [*shown, selected], **common)
    download.click(download_zip, None, zip_file, **common)
    return {"names": names, "chosen": chosen, "files": files, "camera": camera, "gallery": gallery}
