// The held-out realistic set of `npm run bench:default`, written by hand (not by the training
// corruptions, so the built-in model has never seen these errors made this way): everyday
// sentences and paragraphs with the mistakes people make, each with the text intended, and clean
// texts that a good refiner leaves alone. Kept out of every training recipe.

export interface BenchText {
  id: string;
  input: string;
  /** What the writer meant; equal to input for clean texts. */
  target: string;
}

const LONG_TARGET = 'Our team spent most of the spring preparing for the product launch. We started by talking to customers about what they needed, and many of them told us that the old interface was confusing. Over several weeks we sketched new screens, tested them with a small group of users, and changed the design after each round. By the end of April the new layout was ready, and the engineers began building it. The work was harder than we expected. Some of the old code had no tests, so every change took longer than planned. On Monday mornings we met to review what had gone wrong the week before and to decide what to do next. Those meetings were short, but they kept everyone honest about the schedule. In June we invited a hundred customers to try the beta version. Their comments were mostly positive, although several people said the search was too slow. We fixed that problem before the release and also improved the help pages. The launch itself went smoothly on the first Tuesday of July. Looking back, I think the most important decision was to test early and often. It cost us some time at the start, but it saved us from building the wrong thing. Next year we want to do the same for the mobile app, which has many of the same problems. The first interviews are already planned for February, and we hope to share early designs with our customers before the summer. Everyone who helped with this launch deserves our thanks.';
const LONG_INPUT = 'Our team spent most of the the spring preparing for the product launch. We started by talking to customers about what they needed, and many of them told us that the old interface was confusng. Over several weeks we sketched new screens, tested them with a small group of users, and changed the design after each round. By the end of april the new layout was ready, and the engineers began building it. The work was harder than we expected. Some of the old code had no tests, so every change took longer than planed. On monday mornings we met to review what had gone wrong the week before and to decide what to do next. Those meetings was short, but they kept everyone honest about the schedule. In june we invited a hundred customers to try the beta version. Their comments were mostly positive, although several people said the search was to slow. We fixed that problem before the release and also improved the help pages. The launch itself went smoothly on the first tuesday of July. Looking back, i think the most important decision was to test early and often. It cost us some time at the start, but it saved us from building the wrong thing. Next year we want to do the same for the mobile app, wich has many of the same problems. The first interviews are already planned for february, and we hope to share early designs with our customers before the summer. Everyone who helped with this launch deserve our thanks.';

export const CORRUPTED: BenchText[] = [
  { id: 'i-day', input: 'i will call you on monday after lunch.', target: 'I will call you on Monday after lunch.' },
  { id: 'its-contraction', input: 'Its going to rain tomorrow, so bring an umbrella.', target: "It's going to rain tomorrow, so bring an umbrella." },
  { id: 'its-possessive', input: "The dog wagged it's tail when we came home.", target: 'The dog wagged its tail when we came home.' },
  { id: 'should-of', input: 'We should of left earlier to catch the train.', target: 'We should have left earlier to catch the train.' },
  { id: 'their-there', input: 'Their is a small cafe near the station.', target: 'There is a small cafe near the station.' },
  { id: 'there-their', input: 'The children left there shoes by the door.', target: 'The children left their shoes by the door.' },
  { id: 'agreement-dont', input: 'She dont like coffee in the morning.', target: "She doesn't like coffee in the morning." },
  { id: 'agreement-was', input: 'The results of the survey was surprising.', target: 'The results of the survey were surprising.' },
  { id: 'typo-recieved', input: 'I recieved your message and will reply soon.', target: 'I received your message and will reply soon.' },
  { id: 'doubled-day', input: 'Please send me the the report before friday.', target: 'Please send me the report before Friday.' },
  { id: 'typo-city', input: 'My freind lives in london and works as a teacher.', target: 'My friend lives in London and works as a teacher.' },
  { id: 'typo-definitely', input: 'We definately need to buy more milk.', target: 'We definitely need to buy more milk.' },
  {
    id: 'paragraph-report',
    input: 'The quarterly report shows that sales went up by ten percent, but costs is rising to. We recieved alot of feedback from users about the new design. the team is going to discuss it next week. i think they are right about it.',
    target: 'The quarterly report shows that sales went up by ten percent, but costs are rising too. We received a lot of feedback from users about the new design. The team is going to discuss it next week. I think they are right about it.',
  },
  {
    id: 'paragraph-trip',
    input: 'Last tuesday we visited my aunt in paris. Her apartment is small but very bright. We walked along the river and had dinner at a little restaurant. the food was excellent and the the service was friendly.',
    target: 'Last Tuesday we visited my aunt in Paris. Her apartment is small but very bright. We walked along the river and had dinner at a little restaurant. The food was excellent and the service was friendly.',
  },
  {
    id: 'paragraph-email',
    input: 'Thank you for your email. I have looked at the schedule and i think we can meet on wednesday. Let me know if their is a better time for you. I should of replied sooner.',
    target: 'Thank you for your email. I have looked at the schedule and I think we can meet on Wednesday. Let me know if there is a better time for you. I should have replied sooner.',
  },
  {
    id: 'letter-lines',
    input: 'Dear Maria,\n\nThanks for the photos from your trip. They look beautifull, especially the one of the mountains.\nWe are planning to visit in july. Does that work for you and john?\n\nBest wishes,\nAnna',
    target: 'Dear Maria,\n\nThanks for the photos from your trip. They look beautiful, especially the one of the mountains.\nWe are planning to visit in July. Does that work for you and John?\n\nBest wishes,\nAnna',
  },
  { id: 'long-1500', input: LONG_INPUT, target: LONG_TARGET },
];

export const CLEAN: BenchText[] = [
  'The train leaves at seven, so we should be at the station by half past six.',
  'She has lived in Berlin since 2015 and still loves the city.',
  'Its roots go deep, which is why the old tree survived the storm.',
  "They're bringing their own chairs, so we only need a table over there.",
  'I think the meeting on Thursday went well.',
  'Please water the plants while I am away.',
  'The committee has approved the budget for next year.',
  'We walked home slowly, talking about everything and nothing.',
  'Our new neighbours moved in on Saturday. They seem friendly, and their children are already playing with ours.',
  'If you have any questions about the order, reply to this email and we will get back to you within two days.',
].map((text, i) => ({ id: `clean-${i + 1}`, input: text, target: text }));
