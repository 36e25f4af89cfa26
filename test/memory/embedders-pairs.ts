/**
 * A small labelled set for embedder quality: each pair says the same thing in other words,
 * usually with few shared content words. Pairs across rows are unrelated. Written for Cairn.
 */
export const PARAPHRASES: readonly (readonly [string, string])[] = [
  ['I adopted a puppy last week', 'We got a new dog a few days ago'],
  ['My car broke down on the highway', 'The vehicle stopped working on the motorway'],
  ['She is learning to play the violin', 'She takes violin lessons'],
  ["I'm allergic to peanuts", 'Peanuts give me an allergic reaction'],
  ['The meeting moved to Thursday afternoon', 'We rescheduled the meeting for Thursday after lunch'],
  ['He runs a marathon every spring', 'Each spring he takes part in a long distance race'],
  ['Our flight to Tokyo was cancelled', 'The plane to Japan got cancelled'],
  ['I started a new job as a nurse', 'I just began working at the hospital as a nurse'],
  ['My grandmother loves gardening', 'Grandma enjoys growing flowers and vegetables'],
  ['The server crashed because the disk was full', 'No space left on the drive made the machine go down'],
  ['I painted a sunset over the lake', 'My latest painting shows the sun setting on the water'],
  ['We went camping in the mountains', 'We spent the weekend in a tent up in the hills'],
  ['Remind me to pay the electricity bill', "Don't let me forget the power bill payment"],
  ['My daughter graduated from college', 'My girl finished university'],
  ['He prefers tea over coffee', "He'd rather drink tea than coffee"],
  ["I'm reading a novel by Stephen King", "I'm in the middle of a Stephen King book"],
  ['The kids are on summer vacation', 'School is out for the children this summer'],
  ['I volunteer at the animal shelter', 'I help out at the local pet rescue'],
  ['The API returns a 500 error', 'The endpoint fails with an internal server error'],
  ['I moved to Berlin in 2021', 'Since 2021 I have lived in Berlin'],
];

/** Share of (paraphrase, unrelated) pairs where the paraphrase is the more similar: 1 is perfect. */
export function pairAuc(similarity: (a: number, b: number) => number, n: number): number {
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) (i === j ? pos : neg).push(similarity(i, j));
  }
  let wins = 0;
  for (const p of pos) for (const q of neg) wins += p > q ? 1 : p === q ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}
