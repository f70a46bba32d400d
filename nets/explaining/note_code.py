"""The study note's LeNet and AlexNet as the note writes them, word for word, and the line of each layer.

The code is the book's (*Mastering PyTorch*, chapter 3; https://github.com/PacktPublishing/Mastering-PyTorch)
as the note copied it, with the note's own comments ("## 왜 첫번째 차원 제외?").

The shape lab (``nets.explaining.shapes``) shows this code with the shape of ``x`` beside each line
that makes a layer's output. The layers are named as the note's code names them: LeNet's ``cn1``,
``pool1`` (its first ``F.avg_pool2d`` line), ``flatten`` (the ``x.view`` line), ``fc1``...;
AlexNet's by their place in its two ``nn.Sequential``s, ``convnet[0]`` to ``convnet[14]`` and
``fcnet[0]`` to ``fcnet[6]``, found in the code itself. A line a visitor removes keeps its name:
the lab shows the note's code as written, the line struck through.
"""

from __future__ import annotations

ALEXNET_POOLS = {"pool1": "convnet[3]", "pool2": "convnet[7]", "pool3": "convnet[14]"}  # MaxPool2d((3, 3), 2)

# The note's code, word for word (its comments and its typo "대문에" included).
NOTE_CODE = {
    "lenet": """class LeNet(nn.Module):
    def __init__(self):
        super(LeNet, self).__init__()

        self.cn1 = nn.Conv2d(3, 6, 5)
        self.cn2 = nn.Conv2d(6, 16, 5)

        self.fc1 = nn.Linear(5*5*16, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.relu(self.cn1(x))
        x = F.avg_pool2d(x, (2, 2))

        x = F.relu(self.cn2(x))
        x = F.avg_pool2d(x, (2, 2))

        ## 단일 벡터로 평면화

        x = x.view(-1, self.flattened_features(x))

        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)

        return x

    def flattened_features(self, x):

        ## 왜 첫번째 차원 제외?
        size = x.size()[1:]
        num_feats = 1
        for s in size :
            num_feats *= s
        return num_feats

lenet = LeNet()
print(lenet)""",
    "alexnet": """class AlexNet(nn.Module) :
    def __init__(self, number_of_classes):
        super(AlexNet, self).__init__()
        self.convnet = nn.Sequential(

            nn.Conv2d(3, 96, 11, 4, 0),
            nn.ReLU(),
            nn.LocalResponseNorm(size=5, k=2),
            nn.MaxPool2d((3, 3), 2),

            nn.Conv2d(96, 256, 5, 1, 2),
            nn.ReLU(),
            nn.LocalResponseNorm(size=5, k=2),
            nn.MaxPool2d((3, 3), 2),

            nn.Conv2d(256, 384, 3, 1, 1),
            nn.ReLU(),

            nn.Conv2d(384, 384, 3, 1, 1),
            nn.ReLU(),

            nn.Conv2d(384, 256, 3, 1, 1),
            nn.ReLU(),
            nn.MaxPool2d((3, 3), 2)
        )

        self.fcnet = nn.Sequential(

            nn.Dropout(0.5),
            nn.Linear(6*6*256, 4096), ## 이전에 maxpooling을 했기 대문에 6x6으로 바뀜
            nn.ReLU(),

            nn.Dropout(0.5),
            nn.Linear(4096, 4096),
            nn.ReLU(),

            nn.Linear(4096, number_of_classes)
        )

    def forward(self, x):
        x = self.convnet(x)
        x = torch.flatten(x, 1)
        x = self.fcnet(x)
        return x

alexnet = AlexNet(1000)
print(alexnet)""",
}

# The lines of the note's forward that change x, in order: (layer, the line). AlexNet's layers are
# the entries of its two Sequentials, found in the code itself (convnet[0], ..., fcnet[6]).
FORWARD_LINES = {
    "lenet": (
        ("cn1", "x = F.relu(self.cn1(x))"),
        ("pool1", "x = F.avg_pool2d(x, (2, 2))"),
        ("cn2", "x = F.relu(self.cn2(x))"),
        ("pool2", "x = F.avg_pool2d(x, (2, 2))"),
        ("flatten", "x = x.view(-1, self.flattened_features(x))"),
        ("fc1", "x = F.relu(self.fc1(x))"),
        ("fc2", "x = F.relu(self.fc2(x))"),
        ("fc3", "x = self.fc3(x)"),
    ),
    "alexnet": (("flatten", "x = torch.flatten(x, 1)"),),
}
FLATTEN_LINE = "size = x.size()[1:]"  # the note's question sits above it
FLATTEN_WITH_BATCH = "size = x.size()"  # the edit a visitor may choose: count the batch too


def pool_layer(network: str, pool: str) -> str:
    """The note's name of a pooling layer: LeNet's "pool2" is "pool2", AlexNet's is "convnet[7]"."""
    return ALEXNET_POOLS[pool] if network == "alexnet" else pool


def code_lines(network: str) -> list[tuple[str, str | None]]:
    """The note's code of ``network``, line by line, each with the layer whose output it makes
    (None for lines that make none): the UI shows each layer's shape beside its line."""
    expected = list(FORWARD_LINES[network])
    lines: list[tuple[str, str | None]] = []
    sequential, entry = None, 0
    for line in NOTE_CODE[network].splitlines():
        text = line.strip()
        layer = None
        if text.endswith("= nn.Sequential("):
            sequential, entry = text.removeprefix("self.").split(" ")[0], 0
        elif sequential and text == ")":
            sequential = None
        elif sequential and text.startswith("nn."):
            layer, entry = f"{sequential}[{entry}]", entry + 1
        elif expected and text == expected[0][1]:
            layer = expected.pop(0)[0]
        lines.append((line, layer))
    return lines
